"""Work-safety monitoring (安全生产风险监测预警) of hazardous sites: tailings dams, major-hazard
chemical installations and fireworks warehouses (issue 21)."""
