"""Client configuration: key/value settings an operator pushes to apps, for everyone or per user."""
