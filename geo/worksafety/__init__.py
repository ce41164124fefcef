"""Work-safety monitoring (安全生产风险监测预警): site configurations with graded thresholds, the
grading of items and sites from their points (GB 39496-2020 §5.5.4 for tailings dams), alarms
and who they threaten (issue 21)."""
