SELECT id, engine FROM ws_event WHERE state = 'open'
