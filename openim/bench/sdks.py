"""The registry of the bench's wire formats: the names ``--sdk`` accepts and the codec of each.

Apart from openim/bench/codec.py (the interface every codec implements) so that the codecs, which
import that interface, are not imported back by it: this module imports them, lazily, when a run
picks one (``openim bench --help`` loads neither protobuf nor the gob codec).
"""

from __future__ import annotations

from typing import Any, Final

from openim.bench.codec import CodecSetup, LoadCodec

__all__ = ["SDKS", "new_codec"]

SDKS: Final = ("js", "go")


def new_codec(sdk: str, setup: CodecSetup) -> LoadCodec[Any, Any]:
    """The codec of ``--sdk``; ValueError for an unknown name."""
    if sdk == "js":
        from openim.bench.codec_json import JsonEnvelopeCodec

        return JsonEnvelopeCodec(setup)
    if sdk == "go":
        from openim.bench.codec_go import GoGobCodec

        return GoGobCodec(setup)
    raise ValueError(f"unknown sdk {sdk!r}; choose one of {', '.join(SDKS)}")
