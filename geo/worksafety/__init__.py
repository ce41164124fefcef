"""Work-safety monitoring (安全生产风险监测预警): hazardous sites' monitoring points, graded
thresholds, alarms and who they threaten (issue 21)."""
