"""Work-safety monitoring (安全生产风险监测预警): site configurations with graded thresholds, the
grading of items and sites from their points (GB 39496-2020 §5.5.4 for tailings dams), the
alarm engine that keeps alarm floods down, and who the alarms threaten (issue 21)."""
