"""Abuse limits: per-key token buckets and failure backoff (ratelimit), connection counts per listener
and per address (connlimit), and the process's set of them wired to the config and metrics (guards).

Everything here is synchronous and lock-free: trio runs one task at a time, so a check and the record of
its outcome in one call cannot be interleaved by a parallel request.
"""
