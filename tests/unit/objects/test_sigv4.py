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


# The POST policy of the S3 documentation's browser-upload example (sigv4-post-example), base64 as given
# there (the JSON has CRLF line ends), and the signature the documentation computes for it.
DOC_POST_POLICY = (
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6"
    "ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFj"
    "bCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tl"
    "dC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5"
    "cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZl"
    "ci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoN"
    "CiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVx"
    "dWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAx"
    "NTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)


def test_post_policy_signature_matches_the_documented_example() -> None:
    signature = sigv4.post_policy_signature(CREDS, DOC_POST_POLICY, "20151229")
    assert signature == "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"


def test_presigned_post_binds_every_field_and_signs_its_policy() -> None:
    import base64
    import json

    when = dt.datetime(2015, 12, 29, tzinfo=dt.UTC)
    fields = sigv4.presign_post(
        CREDS,
        bucket="b",
        key="openim/direct/20151229/u1/x.png",
        size=1234,
        content_type="image/png",
        expires_at=when + dt.timedelta(minutes=10),
        when=when,
    )
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert policy["expiration"] == "2015-12-29T00:10:00.000Z"
    assert {"bucket": "b"} in policy["conditions"]
    assert ["content-length-range", 1234, 1234] in policy["conditions"]
    bound = {c[1][1:]: c[2] for c in policy["conditions"] if isinstance(c, list) and c[0] == "eq"}
    assert bound == {k: v for k, v in fields.items() if k not in ("policy", "x-amz-signature")}
    assert fields["x-amz-credential"] == "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"
    assert fields["x-amz-date"] == "20151229T000000Z" and fields["success_action_status"] == "200"
    assert fields["x-amz-signature"] == sigv4.post_policy_signature(CREDS, fields["policy"], "20151229")
