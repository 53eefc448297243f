"""Friends, friend requests and blacklists.

port.py (RelationStore, part of the Store port), records.py (the records that cross it), queries.py (the
operations as transaction bodies), store.py (SqlStore's methods).
"""
