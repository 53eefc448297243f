"""AWS Signature Version 4 for S3, the three forms we need: a signed request (Authorization header) for
the server's own calls, a presigned URL (signature in the query) that a client uses directly, and a
signed POST policy (the fields of a browser form upload).

Written here rather than taken from botocore: it is a hundred lines of hashing, and botocore would be
the largest dependency of the server. Pure functions over explicit inputs (time included), so the
tests check them against the worked examples of the S3 documentation.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str
    service: str = "s3"


def _uri_encode(text: str, *, keep_slash: bool) -> str:
    return quote(text, safe="/~" if keep_slash else "~")


def _stamp(when: dt.datetime) -> tuple[str, str]:
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%Y%m%dT%H%M%SZ"), utc.strftime("%Y%m%d")


def _signing_key(creds: Credentials, date: str) -> bytes:
    key = f"AWS4{creds.secret_key}".encode()
    for part in (date, creds.region, creds.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_query(params: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((_uri_encode(k, keep_slash=False), _uri_encode(v, keep_slash=False)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _signature(
    creds: Credentials,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    payload_hash: str,
    amz_date: str,
    date: str,
) -> tuple[str, str]:
    """(signature, signed header list) of one request."""
    canon_headers = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed = ";".join(sorted(canon_headers))
    request = "\n".join(
        [
            method.upper(),
            _uri_encode(path or "/", keep_slash=True),
            canonical_query(query),
            "".join(f"{k}:{canon_headers[k]}\n" for k in sorted(canon_headers)),
            signed,
            payload_hash,
        ]
    )
    scope = f"{date}/{creds.region}/{creds.service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    return hmac.new(_signing_key(creds, date), to_sign.encode(), hashlib.sha256).hexdigest(), signed


def _host(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port and parts.port != default:
        host = f"{host}:{parts.port}"
    return host, parts.path


def presign(
    creds: Credentials,
    method: str,
    url: str,
    *,
    expires_s: int,
    when: dt.datetime,
    query: Sequence[tuple[str, str]] = (),
) -> str:
    """A URL that performs ``method`` on ``url`` (no query string of its own) without credentials, until
    ``expires_s`` seconds after ``when``. Only ``host`` is signed, so the client may add any header
    (the SDK adds Content-Type and Content-Length)."""
    amz_date, date = _stamp(when)
    host, path = _host(url)
    params = [
        *query,
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{creds.access_key}/{date}/{creds.region}/{creds.service}/aws4_request"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_s)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    signature, _ = _signature(creds, method, path, params, {"host": host}, UNSIGNED_PAYLOAD, amz_date, date)
    base = url.split("?", 1)[0]
    return f"{base}?{canonical_query(params)}&X-Amz-Signature={signature}"


def sign_headers(
    creds: Credentials,
    method: str,
    url: str,
    *,
    when: dt.datetime,
    query: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    payload: bytes = b"",
) -> dict[str, str]:
    """The headers to send with a request so S3 accepts it: ``Host``-derived signature over the given
    headers plus ``x-amz-date`` and ``x-amz-content-sha256``; returns every header to send."""
    amz_date, date = _stamp(when)
    host, path = _host(url)
    payload_hash = hashlib.sha256(payload).hexdigest()
    to_sign = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    to_sign.update({k.lower(): v for k, v in (headers or {}).items()})
    signature, signed = _signature(creds, method, path, query, to_sign, payload_hash, amz_date, date)
    scope = f"{date}/{creds.region}/{creds.service}/aws4_request"
    out = {k: v for k, v in to_sign.items() if k != "host"}
    out["authorization"] = (
        f"{ALGORITHM} Credential={creds.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return out


def post_policy_signature(creds: Credentials, policy_b64: str, date: str) -> str:
    """The ``x-amz-signature`` of a POST form: the base64 policy itself is the string to sign, under the
    signing key of ``date`` (``YYYYMMDD``, the day of the form's ``x-amz-date``)."""
    return hmac.new(_signing_key(creds, date), policy_b64.encode("ascii"), hashlib.sha256).hexdigest()


def presign_post(
    creds: Credentials,
    *,
    bucket: str,
    key: str,
    size: int,
    content_type: str,
    expires_at: dt.datetime,
    when: dt.datetime,
    success_status: int = 200,
) -> dict[str, str]:
    """The fields of a browser form that uploads exactly ``size`` bytes to ``key`` of ``bucket`` until
    ``expires_at`` (the file goes last, in the field ``file``). Every field is bound by the policy, so
    S3 refuses a form whose key, size, content type or answer status was changed."""
    amz_date, date = _stamp(when)
    credential = f"{creds.access_key}/{date}/{creds.region}/{creds.service}/aws4_request"
    fields = {"key": key, "success_action_status": str(success_status)}
    if content_type:
        fields["Content-Type"] = content_type
    fields.update({"x-amz-algorithm": ALGORITHM, "x-amz-credential": credential, "x-amz-date": amz_date})
    conditions: list[object] = [{"bucket": bucket}, ["content-length-range", size, size]]
    conditions += [["eq", f"${name}", value] for name, value in fields.items()]
    expiration = expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = json.dumps({"expiration": expiration, "conditions": conditions}, separators=(",", ":"))
    policy = base64.b64encode(document.encode()).decode("ascii")
    return {**fields, "policy": policy, "x-amz-signature": post_policy_signature(creds, policy, date)}
