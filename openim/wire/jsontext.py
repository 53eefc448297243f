"""Client JSON that Python parses but the rest of the server cannot hold: lone UTF-16 surrogates, and NUL.

JSON allows the escape ``"\\ud800"`` on its own, and Python's ``json`` (which decodes with
``surrogatepass``) also lets the raw bytes ``ED A0 80`` through, so a parsed string may hold a code
point that is not Unicode text. Nothing downstream can store it: protobuf string fields, UTF-8
encoding for SQL and for re-serialised content all raise. Every JSON body a client sends is therefore
checked once, right after parsing, and refused as bad input (1001 on REST, a protocol error on the
WebSocket envelope) instead of failing deep inside a handler.

NUL (``"\\u0000"``) is refused the same way: SQLite stores it, but PostgreSQL's text columns cannot, so
a nickname or an ``ex`` holding one would be accepted by the embedded server and fail with an internal
error on a cluster. Refusing it at the edge keeps the two backends answering alike.

The check is nearly free for ordinary bodies: the tree is only walked when the raw text holds a
surrogate escape or the UTF-8 bytes of one (a cheap regular-expression search in C). A surrogate
*pair* (``"\\ud83d\\ude00"``) is combined into one code point by the parser and passes.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["find_unstorable_text"]

# \uD800-\uDFFF as a JSON escape (Python's parser only knows lower-case "\u"), or as UTF-8 bytes; and
# the escape of NUL (a raw control character is not valid JSON: the parser refuses it already).
_HINT_BYTES: Final = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\\u0000")
_HINT_TEXT: Final = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]|\\u0000|\x00")


def _bad(text: str) -> bool:
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_unstorable_text(obj: Any, raw: bytes | str) -> str | None:
    """The path (``users[0].nickname``, ``body`` for the top level) of the first string, key or value,
    in the parsed ``obj`` that holds a lone surrogate or a NUL; None when there is none.

    ``raw`` is the text ``obj`` was parsed from: without a hint of either in it, the walk is skipped.
    """
    if isinstance(raw, bytes | bytearray):
        if raw.isascii() and b"\\u" not in raw:
            return None  # no escape and no multi-byte character: no surrogate, no NUL (the common case)
        if _HINT_BYTES.search(raw) is None:
            return None
    elif _HINT_TEXT.search(raw) is None:
        return None
    # Iterative: the parser accepts nesting close to the recursion limit, a recursive walk would not.
    stack: list[tuple[Any, str]] = [(obj, "")]
    while stack:
        value, path = stack.pop()
        t = type(value)
        if t is str:
            if _bad(value):
                return path or "body"
        elif t is dict:
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                if _bad(key):
                    return f"{path}.<key>" if path else "<key>"
                stack.append((item, sub))
        elif t is list:
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None
