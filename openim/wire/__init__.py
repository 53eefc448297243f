"""The wire layer: everything that turns OpenIM protocol bytes into Python values and back.

Pure functions only (no sockets, no clocks, no storage), so the gateway, the REST API and the
benchmark client share one implementation:

- ``openim.wire.pb.<name>_pb2``: generated protobuf classes (sources in ``openim/wire/proto/``).
- :mod:`openim.wire.envelope`: the WebSocket JSON envelope (requests, responses, pushes, heartbeats).
- :mod:`openim.wire.jsoncodec`: Go-style JSON for REST bodies and notification tips.
- :mod:`openim.wire.constants`: request identifiers, platforms, content types, options, conversation IDs.
- :mod:`openim.wire.errors`: the error codes and their envelopes.
"""

from __future__ import annotations

from google.protobuf.internal import api_implementation

__all__ = ["pb_backend"]


def pb_backend() -> str:
    """Name of the protobuf implementation in use: ``"upb"`` (fast C), ``"cpp"`` or ``"python"``.

    protobuf picks its backend once, at first import, from the installed wheel and the
    ``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION`` environment variable; nothing here can switch it
    later. The pure-Python backend is 40-75x slower on the message hot path, so the server calls
    this at start and warns when the answer is not ``"upb"`` (usually a platform without a binary
    wheel, or the environment variable left set).
    """
    return str(api_implementation.Type())
