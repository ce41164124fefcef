SELECT point_id, engine FROM ws_alarm_state
