"""Cluster membership as an operator sees it: discovery (who should be there) and status (who is).

Redis carries every message between processes whatever the discovery mode; this package only answers
"which processes make up the cluster, where do they listen, are they alive, what do they own", for
``openim cluster status`` and for the start-up check of static membership.

- :mod:`openim.cluster.discovery`: the expected members per ``cluster.discovery`` (redis, static,
  kubernetes) and the address a process advertises in the registry;
- :mod:`openim.cluster.status`: the live registry, partition owners and discovery joined into one report.

Nothing here is imported by the embedded mode's hot path; :mod:`.status` loads the Redis client.
"""
