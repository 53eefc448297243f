"""The signed policy of a browser form upload to this server (the local backend's /object/initiate_form_data).

S3 checks a POST form against a policy the server signed; the local backend does the same with a policy
of our own: which upload the form is for, the exact file size, the content type, and until when it may
be posted, as base64url JSON, signed with HMAC-SHA256 under a key derived from the server's secret. The
form carries both (``policy``, ``signature``); the receiving route verifies them before it reads a byte
of the file, so a forged, altered or expired form costs nothing but its headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

FORM_FILE_FIELD: Final = "file"  # the field of the file, after every other field (as S3 wants it)
POLICY_FIELD: Final = "policy"
SIGNATURE_FIELD: Final = "signature"
CONTENT_TYPE_FIELD: Final = "Content-Type"
_CONTEXT: Final = b"openim object form policy v1\n"


class FormRefused(Exception):
    """A form POST this server will not store; ``status`` is the HTTP status it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class FormPolicy:
    upload_id: str
    size: int  # the file must have exactly this many bytes
    content_type: str  # "" = any
    expires_ms: int  # the POST must start before this (Unix ms)


def derive_key(secret: str) -> bytes:
    """The policy key, derived from the server secret (so every process of a deployment shares it, and
    it is useless for anything else the secret signs)."""
    return hmac.new(secret.encode(), b"openim/object-form-policy", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, encoded: str) -> str:
    return hmac.new(key, _CONTEXT + encoded.encode("ascii"), hashlib.sha256).hexdigest()


def sign(policy: FormPolicy, key: bytes) -> tuple[str, str]:
    """(the policy field, the signature field) of a form."""
    document = {"u": policy.upload_id, "s": policy.size, "t": policy.content_type, "e": policy.expires_ms}
    encoded = _b64(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
    return encoded, _mac(key, encoded)


def verify(encoded: str, signature: str, key: bytes, *, now_ms: int) -> FormPolicy:
    """The policy of a posted form, or FormRefused (403) when it is missing, forged, altered or expired."""
    if not encoded or not signature:
        raise FormRefused(403, "the form has no policy or no signature")
    expected = _mac(key, encoded).encode() if encoded.isascii() else b""
    if not expected or not hmac.compare_digest(expected, signature.lower().encode("utf-8", "replace")):
        raise FormRefused(403, "policy signature does not match")
    try:
        document = json.loads(_unb64(encoded))
        policy = FormPolicy(str(document["u"]), int(document["s"]), str(document["t"]), int(document["e"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:  # signed by us, so never in practice
        raise FormRefused(403, "policy is malformed") from exc
    if policy.expires_ms <= now_ms:
        raise FormRefused(403, "policy expired")
    return policy
