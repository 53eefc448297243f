"""Groups, members and join requests: OpenIM's group service, split by concern (service.py composes it).

Import from the defining modules: ``openim.services.groups.service.GroupService``,
``openim.services.groups.access.Operator``, ``openim.services.groups.directory.GroupDirectory``."""
