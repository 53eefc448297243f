"""``openim bench``: a load generator that drives a running server over the real protocol.

Set-up over REST (:mod:`.provision`), load over the WebSocket gateway from several forked processes
(:mod:`.runner`, :mod:`.worker`, :mod:`.client`), accounting of every message (:mod:`.stats`) and a
report as a table or JSON (:mod:`.report`). The frames are built and parsed by the server's own codec
(:mod:`openim.wire.envelope`, :mod:`openim.wire.pb`), so the bench cannot drift from the protocol.
"""
