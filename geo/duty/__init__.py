"""Duty (值班值守): who is on duty now, hand-over notes between shifts, and the daily duty report.

A county bureau's command centre is staffed 24 hours by a leader (带班领导), a chief (值班长)
and officers (值班员) per shift (the roster, migration 0008); townships' emergency offices
keep their own. ``roster`` answers "whom do I call now", ``handover`` keeps the append-only
hand-over notes (交接班记录), ``report`` gathers a Beijing day's 值班日报 and ``render`` turns
it into HTML and PDF.
"""
