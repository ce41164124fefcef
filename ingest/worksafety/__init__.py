"""Work-safety device readings in: HJ 212-2017 TCP, MQTT and HTTP JSON (issue 21)."""
