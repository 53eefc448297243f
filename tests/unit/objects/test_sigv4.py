"""SigV4 against the worked examples of the S3 documentation (same keys, time and requests)."""

from __future__ import annotations

import datetime as dt

from openim.objects import sigv4

CREDS = sigv4.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
WHEN = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)


def test_presigned_get_matches_the_documented_signature() -> None:
    url = sigv4.presign(CREDS, "GET", "https://examplebucket.s3.amazonaws.com/test.txt", expires_s=86400, when=WHEN)
    assert url == (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def test_header_signed_get_with_range_matches_the_documented_signature() -> None:
    headers = sigv4.sign_headers(
        CREDS, "GET", "https://examplebucket.s3.amazonaws.com/test.txt", when=WHEN, headers={"Range": "bytes=0-9"}
    )
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["x-amz-content-sha256"] == sigv4.EMPTY_SHA256
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_query_encoding_is_canonical() -> None:
    assert sigv4.canonical_query([("uploadId", "a/b+c"), ("partNumber", "2"), ("uploads", "")]) == (
        "partNumber=2&uploadId=a%2Fb%2Bc&uploads="
    )


def test_a_non_default_port_is_part_of_the_signed_host() -> None:
    a = sigv4.presign(CREDS, "PUT", "http://127.0.0.1:9000/b/k", expires_s=60, when=WHEN)
    b = sigv4.presign(CREDS, "PUT", "http://127.0.0.1:9001/b/k", expires_s=60, when=WHEN)
    assert a.rsplit("=", 1)[1] != b.rsplit("=", 1)[1]
