"""Per-user command lists: what a user keeps on every device (favourites, pinned items, ...), OpenIM's
/user/process_user_command_* routes.

port.py (CommandStore, part of the Store port), records.py (the records that cross it), queries.py (the
operations as transaction bodies), store.py (SqlStore's methods).
"""
