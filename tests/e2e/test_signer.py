"""The tests' own SigV4 signer and checksums against botocore and published check values,
so that a failing raw-request test points at the server, not at s3util."""
import base64
import zlib

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import s3util

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def botocore_signature(method, url, headers, body, amz_date):
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    req.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(AK, SK), "s3", "us-east-1")
    req.headers["X-Amz-Date"] = amz_date
    req.headers["X-Amz-Content-SHA256"] = s3util.sha256_hex(body)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    return creq, auth.signature(sts, req)


def test_signer_matches_botocore():
    amz_date = "20240102T030405Z"
    key = "dir/ü a+b%c~(x).txt"
    path = s3util.obj_path("bucket", key)
    query = [("response-content-type", "text/plain; charset=utf-8"), ("x-id", "GetObject")]
    url = "http://127.0.0.1:9000" + path + "?" + s3util.wire_query(query)
    body = b"hello"
    headers = {"Host": "127.0.0.1:9000", "Content-Type": "text/plain",
               "x-amz-meta-a": "  two  spaces  "}
    creq, sig = botocore_signature("PUT", url, headers, body, amz_date)
    _, ctx = s3util.sign_headers("PUT", path, query, headers, s3util.sha256_hex(body), AK, SK,
                                 "us-east-1", amz_date)
    assert ctx.canonical_request == creq
    assert ctx.signature == sig


def test_chunk_signatures_match_aws_example():
    # The documented STREAMING-AWS4-HMAC-SHA256-PAYLOAD example: 66560 bytes of 'a' in
    # 64 KiB chunks, seed signature 4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9.
    ctx = s3util.SigningContext(s3util.signing_key(SK, "20130524", "us-east-1"),
                                "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
                                "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                                None, None)
    body = s3util.aws_chunked_signed(b"a" * 66560, ctx)
    assert b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648" in body
    assert b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497" in body
    assert b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9" in body
    assert len(body) == 66824  # the documented Content-Length


def test_checksums_check_values():
    data = b"123456789"
    assert s3util.crc32c(data) == 0xE3069283
    assert s3util.crc64nvme(data) == 0xAE8B14860A799888
    assert s3util.checksum_b64("crc32", data) == base64.b64encode(
        (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()


def test_generated_stream_is_seekable_and_stable():
    g = s3util.GeneratedStream("x", 3 * (1 << 20) + 5)
    whole = g.read()
    assert len(whole) == g.size
    g.seek(1 << 20)
    assert g.read(10) == whole[1 << 20:(1 << 20) + 10]
    g.seek(-5, 2)
    assert g.read() == whole[-5:]
