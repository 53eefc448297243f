"""Groups, their members and join requests.

port.py (GroupStore, part of the Store port), records.py (the records that cross it), queries.py (the
operations as transaction bodies), store.py (SqlStore's methods).
"""
