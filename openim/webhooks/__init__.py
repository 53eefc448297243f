"""OpenIM's callbacks (webhooks) to a business backend: the dispatcher (before:
synchronous, may refuse or modify; after: queued and retried) and the adapters each service calls.

The services get their hooks in their constructors (openim.assembly.build_services): the msg stage a
``MessageHooks``, the relation and group services the ``Webhooks`` dispatcher, or None when no callback is
enabled, so that a feature that is off costs the send path nothing. The catalogue of names is
openim.webhook_catalog, beside the config that validates them (config sits below every package)."""
