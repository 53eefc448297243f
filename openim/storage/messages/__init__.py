"""Messages and what the send path touches with them: users, tokens and bans, seqs, each user's
conversation rows, and the version logs of incremental sync.

port.py (MessageStore, part of the Store port), records.py (the records that cross it), queries.py (the
operations as transaction bodies), persist.py (the send path's own body), store.py (SqlStore's methods).
"""
