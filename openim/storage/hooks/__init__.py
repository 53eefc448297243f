"""The durable queue of after-callbacks: the Store's adapter of openim.hook_queue.HookQueue.

port.py (HookStore, part of the Store port), queries.py (the operations as transaction bodies), store.py
(SqlStore's methods). The records are openim.hook_queue's, shared with the Redis adapter.
"""
