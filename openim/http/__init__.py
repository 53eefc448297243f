"""The HTTP listener every process runs: Hypercorn under our own accept loop, with the connection limits
and timeouts of openim.security (server.py), and the health and metrics endpoints (health.py) it serves
on the API port, or on ``ops.port`` in a process without the api module."""
