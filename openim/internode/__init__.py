"""Messages between the processes of a cluster (and, in one process, between its parts): the payload kinds
and their encodings (payloads.py) and the node inbox that hands each kind to its handler (inbox.py).
Send replies, deliveries, kicks, status changes and cache invalidations travel this way."""
