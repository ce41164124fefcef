"""riskmap's faces: the HTTP service, the command line and (later) the dispatcher."""
