"""One adapter per way out: HTTP JSON, EBM XML and MQTT terminals, the SMS gateway, the CAP feed."""
