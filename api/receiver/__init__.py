"""The reference receiver: a township 村村响 controller for tests, demos and vendors.

``app`` serves it (HTTP and MQTT), ``inbound`` reads keys and messages, ``journal`` keeps what
was played in SQLite, ``client`` reads that journal over HTTP.
"""
