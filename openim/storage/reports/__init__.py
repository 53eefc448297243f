"""The operators' reports: message search and the statistics of OpenIM's admin panel (read only).

port.py (ReportStore, part of the Store port), records.py (the records that cross it), queries.py (the
reads as transaction bodies), store.py (SqlStore's methods).
"""
