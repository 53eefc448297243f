"""Uploads and offline push: stored objects, upload sessions and device push tokens.

port.py (ObjectStore, part of the Store port), records.py (the records that cross it), queries.py (the
operations as transaction bodies), store.py (SqlStore's methods).
"""
