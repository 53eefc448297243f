"""Generated protobuf modules (``<name>_pb2.py`` + ``.pyi``), one per file in ``openim/wire/proto/``.

Do not edit the ``_pb2`` files: change the ``.proto`` source and run ``python scripts/gen_proto.py``
(tests/unit/wire/test_generated_current.py fails when they drift apart). This file is hand-written.
"""
