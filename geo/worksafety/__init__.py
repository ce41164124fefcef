"""Work-safety monitoring (安全生产风险监测预警): point levels, alarm-flood control, synthetic data.

Pure logic (levels, the alarm engine, events, texts, the synthetic month) is free of the
database; :mod:`runner` is the one module that reads readings and writes alarms.
"""
