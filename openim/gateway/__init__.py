"""The WebSocket message gateway (OpenIM's msggateway): handshake, sessions, pushes, kicks, 2005.

Layout, from the wire inward: ``transport`` (the one module that knows the WebSocket library),
``handshake`` (pure argument parsing and validation), ``session`` (one connection's reader, writer
and request tasks), ``requests`` (what each reqIdentifier does), ``registry`` (this node's sessions),
``server`` (the module: handshakes, presence, multi-login, inbox handlers, drain) and ``module``
(assembly from Node and Services).
"""
