"""The dispatcher: delivers outbox rows to village broadcast terminals (村村响), SMS and MQTT.

``runner`` claims due rows and records outcomes; ``adapters`` speak each protocol; ``signing``
is the HMAC scheme shared with the API (acknowledgements) and the reference receiver.
"""
