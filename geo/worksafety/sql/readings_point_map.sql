-- HJ 212 devices (MN) and factor codes of the monitoring points, with each point's compact key.
SELECT mn, factor, n FROM ws_point WHERE mn IS NOT NULL;
