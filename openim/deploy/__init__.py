"""Running openim on a host or in a container: the supervised launcher (`openim supervise`) and the
backup and restore of the embedded store (`openim backup`, `openim restore`)."""
