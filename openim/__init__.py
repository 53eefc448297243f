"""openim: a self-hosted instant-messaging server speaking the OpenIM Server v3 protocol."""

__version__ = "0.1.0"
