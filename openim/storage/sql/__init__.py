"""The machinery both backends share, and the two adapters.

txn.py (the sans-I/O transaction protocol), rows.py (records as rows, shared statement shapes), base.py
and store.py (SqlStore, composed of the areas' store.py), group_commit.py and read_marks.py (the send
path's write batching), asyncio_thread.py (the bridge asyncpg runs on); sqlite.py (embedded) and
postgres.py (cluster) supply how a transaction runs.
"""
