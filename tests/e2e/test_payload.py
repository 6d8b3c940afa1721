"""Payload modes of SigV4: literal x-amz-content-sha256, UNSIGNED-PAYLOAD, aws-chunked
(signed chunks, signed and unsigned trailers) and x-amz-checksum-* headers. Every failed
upload must leave nothing behind: a new key stays absent, an old one keeps its bytes."""
import os

import pytest

from s3util import (STREAMING, STREAMING_TRAILER, STREAMING_UNSIGNED_TRAILER, UNSIGNED,
                    aws_chunked_signed, aws_chunked_unsigned, checksum_b64, det_bytes, md5_b64,
                    md5_hex, obj_path, run_threads, sha256_hex)

OLD = b"the old, intact version"


@pytest.fixture
def target(raw, bucket):
    """Puts OLD at 'old'; check() asserts a failed upload changed nothing."""
    r = raw.request("PUT", obj_path(bucket, "old"), body=OLD)
    assert r.status == 200, r

    class T:
        def path(self, key):
            return obj_path(bucket, key)

        def check_nothing_stored(self):
            g = raw.request("GET", obj_path(bucket, "old"))
            assert g.status == 200 and g.body == OLD, g
            g = raw.request("HEAD", obj_path(bucket, "new"))
            assert g.status == 404, g

        def get(self, key):
            return raw.request("GET", obj_path(bucket, key))

    return T()


def both_keys(fn):
    """Runs an upload that must fail against a new key and over an existing one."""
    return [fn("new"), fn("old")]


# ---------------------------------------------------------------- literal hash

def test_literal_sha256(raw, target):
    data = det_bytes("lit", 5000)
    r = raw.request("PUT", target.path("lit"), body=data, payload_hash=sha256_hex(data))
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    assert target.get("lit").body == data


def test_literal_sha256_mismatch(raw, target):
    def put(key):
        return raw.request("PUT", target.path(key), body=b"actual body",
                           payload_hash=sha256_hex(b"claimed body"))
    for r in both_keys(put):
        assert r.status == 400, r
        assert r.code == "XAmzContentSHA256Mismatch", r
    target.check_nothing_stored()


def test_literal_sha256_uppercase_is_not_a_match(raw, target):
    data = b"upper"
    r = raw.request("PUT", target.path("new"), body=data, payload_hash=sha256_hex(data).upper())
    assert r.status == 400, r
    target.check_nothing_stored()


@pytest.mark.parametrize("value", ["nonsense", "STREAMING-BOGUS", "0" * 63])
def test_invalid_content_sha256(raw, target, value):
    r = raw.request("PUT", target.path("new"), body=b"x", payload_hash=value)
    assert r.status == 400, r
    assert r.code in ("InvalidArgument", "XAmzContentSHA256Mismatch"), r
    target.check_nothing_stored()


def test_missing_content_sha256_header(raw, target):
    # SigV4 for S3 requires x-amz-content-sha256 on header-signed requests.
    h, _ = raw.prepare("GET", target.path("old"))
    h2 = {k: v for k, v in h.items() if k != "x-amz-content-sha256"}
    r = raw.send("GET", target.path("old"), headers=h2)
    assert r.status in (400, 403), r


def test_unsigned_payload(raw, target):
    data = det_bytes("unsigned", 70_000)
    r = raw.request("PUT", target.path("u"), body=data, payload_hash=UNSIGNED)
    assert r.status == 200, r
    assert target.get("u").body == data


def test_get_with_unsigned_payload(raw, target):
    r = raw.request("GET", target.path("old"), payload_hash=UNSIGNED)
    assert r.status == 200 and r.body == OLD


# ---------------------------------------------------------------- aws-chunked, signed

def chunked_headers(data, extra=None, mode=STREAMING, encoding="aws-chunked"):
    h = {"content-encoding": encoding, "x-amz-decoded-content-length": str(len(data))}
    if mode != STREAMING:
        h["x-amz-trailer"] = "x-amz-checksum-crc32"
    h.update(extra or {})
    return h


def put_signed_chunked(raw, path, data, chunk_size=65536, tamper=None, trailers=None,
                       mode=STREAMING, extra=None, decoded_len=None, cut=0, encoding="aws-chunked"):
    headers = chunked_headers(data, extra, mode, encoding)
    if decoded_len is not None:
        headers["x-amz-decoded-content-length"] = str(decoded_len)
    # Content-Length is signed, so build a body of the right size first: the chunk
    # signatures do not depend on it.
    h, ctx = raw.prepare("PUT", path, headers=dict(headers, **{"content-length": "0"}),
                         payload_hash=mode)
    body = aws_chunked_signed(data, ctx, chunk_size, trailers, tamper)
    if cut:
        body = body[:-cut]
    headers["content-length"] = str(len(body))
    h, ctx = raw.prepare("PUT", path, headers=headers, payload_hash=mode, amz_date=ctx.amz_date)
    body = aws_chunked_signed(data, ctx, chunk_size, trailers, tamper)
    if cut:
        body = body[:-cut]
    return raw.send("PUT", path, headers=h, body=body)


@pytest.mark.parametrize("size,chunk", [(0, 65536), (1, 65536), (65536, 65536),
                                        (200_000, 65536), (100_000, 8192), (300_000, 1 << 20)])
def test_streaming_signed(raw, target, size, chunk):
    data = det_bytes("stream-%d" % size, size)
    r = put_signed_chunked(raw, target.path("s"), data, chunk)
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    g = target.get("s")
    assert g.body == data
    assert "aws-chunked" not in g.headers.get("Content-Encoding", "")
    assert int(g.headers["Content-Length"]) == size


def test_streaming_signed_keeps_other_content_encoding(raw, target):
    data = det_bytes("gz", 10_000)
    r = put_signed_chunked(raw, target.path("gz"), data, encoding="aws-chunked,gzip")
    assert r.status == 200, r
    g = target.get("gz")
    assert g.body == data
    assert g.headers.get("Content-Encoding") == "gzip"


def test_streaming_signed_with_metadata(raw, target):
    data = det_bytes("meta", 20_000)
    r = put_signed_chunked(raw, target.path("m"), data,
                           extra={"x-amz-meta-color": "red", "content-type": "text/x-test"})
    assert r.status == 200, r
    g = target.get("m")
    assert g.body == data
    assert g.headers["x-amz-meta-color"] == "red"
    assert g.headers["Content-Type"] == "text/x-test"


@pytest.mark.parametrize("tamper", ["data", "final-sig"])
def test_streaming_signed_tampered(raw, target, tamper):
    data = det_bytes("tamper", 200_000)
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data, tamper=tamper)):
        assert r.status == 403, r
        assert r.code == "SignatureDoesNotMatch", r
    target.check_nothing_stored()


def test_streaming_signed_wrong_seed(raw, target):
    # Chunks chained from a different seed signature.
    data = det_bytes("seed", 100_000)
    path = target.path("new")
    headers = chunked_headers(data)
    h0, ctx0 = raw.prepare("PUT", path, headers=dict(headers, **{"content-length": "1"}),
                           payload_hash=STREAMING)
    body = aws_chunked_signed(data, ctx0)
    headers["content-length"] = str(len(body))
    h, ctx = raw.prepare("PUT", path, headers=headers, payload_hash=STREAMING,
                         amz_date=ctx0.amz_date)
    r = raw.send("PUT", path, headers=h, body=body)
    assert r.status == 403 and r.code == "SignatureDoesNotMatch", r
    target.check_nothing_stored()


@pytest.mark.parametrize("decoded_len", [199_999, 200_001])
def test_streaming_decoded_length_mismatch(raw, target, decoded_len):
    data = det_bytes("declen", 200_000)
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data,
                                                    decoded_len=decoded_len)):
        assert 400 <= r.status < 500, r
    target.check_nothing_stored()


def test_streaming_truncated_body(raw, target):
    data = det_bytes("trunc", 200_000)
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data, cut=40)):
        assert 400 <= r.status < 500, r
    target.check_nothing_stored()


def test_streaming_missing_decoded_length(raw, target):
    data = b"x" * 100
    path = target.path("new")
    headers = {"content-encoding": "aws-chunked"}
    h, ctx = raw.prepare("PUT", path, headers=dict(headers, **{"content-length": "0"}),
                         payload_hash=STREAMING)
    body = aws_chunked_signed(data, ctx)
    headers["content-length"] = str(len(body))
    h, ctx = raw.prepare("PUT", path, headers=headers, payload_hash=STREAMING,
                         amz_date=ctx.amz_date)
    r = raw.send("PUT", path, headers=h, body=aws_chunked_signed(data, ctx))
    assert r.status in (400, 411), r
    target.check_nothing_stored()


# ---------------------------------------------------------------- trailers

def crc_trailer(data, alg="crc32"):
    return [("x-amz-checksum-%s" % alg, checksum_b64(alg, data))]


@pytest.mark.parametrize("size", [0, 1000, 200_000])
def test_streaming_signed_trailer(raw, target, size):
    data = det_bytes("st-%d" % size, size)
    r = put_signed_chunked(raw, target.path("t"), data, trailers=crc_trailer(data),
                           mode=STREAMING_TRAILER)
    assert r.status == 200, r
    assert target.get("t").body == data


def test_streaming_signed_trailer_bad_checksum(raw, target):
    data = det_bytes("stbad", 100_000)
    bad = crc_trailer(b"something else")
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data, trailers=bad,
                                                    mode=STREAMING_TRAILER)):
        assert r.status == 400, r
        assert r.code == "BadDigest", r
    target.check_nothing_stored()


def test_streaming_signed_trailer_bad_signature(raw, target):
    data = det_bytes("stsig", 100_000)
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data,
                                                    trailers=crc_trailer(data),
                                                    mode=STREAMING_TRAILER,
                                                    tamper="trailer-sig")):
        assert r.status == 403, r
        assert r.code == "SignatureDoesNotMatch", r
    target.check_nothing_stored()


def put_unsigned_trailer(raw, path, data, trailers, chunk_size=65536, alg="crc32", extra=None):
    body = aws_chunked_unsigned(data, trailers, chunk_size)
    headers = {"content-encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data)),
               "x-amz-trailer": "x-amz-checksum-%s" % alg,
               "x-amz-sdk-checksum-algorithm": alg.upper(),
               "content-length": str(len(body))}
    headers.update(extra or {})
    return raw.request("PUT", path, headers=headers, body=body,
                       payload_hash=STREAMING_UNSIGNED_TRAILER)


@pytest.mark.parametrize("size,chunk", [(0, 65536), (1, 65536), (65536, 65536),
                                        (200_000, 65536), (50_000, 1000), (70_000, 16384)])
def test_streaming_unsigned_trailer(raw, target, size, chunk):
    data = det_bytes("ut-%d" % size, size)
    r = put_unsigned_trailer(raw, target.path("ut"), data, crc_trailer(data), chunk)
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    g = target.get("ut")
    assert g.body == data
    assert "aws-chunked" not in g.headers.get("Content-Encoding", "")


@pytest.mark.parametrize("alg", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
def test_streaming_unsigned_trailer_algorithms(raw, target, alg):
    data = det_bytes("alg-" + alg, 30_000)
    r = put_unsigned_trailer(raw, target.path("a"), data, crc_trailer(data, alg), alg=alg)
    assert r.status == 200, r
    assert target.get("a").body == data
    bad = put_unsigned_trailer(raw, target.path("new"), data, crc_trailer(data + b"!", alg),
                               alg=alg)
    assert bad.status == 400 and bad.code == "BadDigest", bad
    target.check_nothing_stored()


def test_streaming_unsigned_trailer_bad_checksum(raw, target):
    data = det_bytes("utbad", 100_000)
    for r in both_keys(lambda k: put_unsigned_trailer(raw, target.path(k), data,
                                                      crc_trailer(data[:-1]))):
        assert r.status == 400, r
        assert r.code == "BadDigest", r
    target.check_nothing_stored()


def test_streaming_unsigned_trailer_missing_trailer(raw, target):
    data = det_bytes("utmiss", 1000)
    r = put_unsigned_trailer(raw, target.path("new"), data, [])
    assert 400 <= r.status < 500, r
    target.check_nothing_stored()


# ---------------------------------------------------------------- checksum headers

@pytest.mark.parametrize("alg", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
def test_checksum_header(raw, target, alg):
    data = det_bytes("ck-" + alg, 12_345)
    r = raw.request("PUT", target.path("ck"), body=data,
                    headers={"x-amz-checksum-" + alg: checksum_b64(alg, data),
                             "x-amz-sdk-checksum-algorithm": alg.upper()})
    assert r.status == 200, r
    assert target.get("ck").body == data

    def bad(key):
        return raw.request("PUT", target.path(key), body=data,
                           headers={"x-amz-checksum-" + alg: checksum_b64(alg, b"other"),
                                    "x-amz-sdk-checksum-algorithm": alg.upper()})
    for r in both_keys(bad):
        assert r.status == 400, r
        assert r.code == "BadDigest", r
    target.check_nothing_stored()


def test_checksum_header_malformed(raw, target):
    r = raw.request("PUT", target.path("new"), body=b"x",
                    headers={"x-amz-checksum-crc32": "not base64 at all!"})
    assert r.status == 400, r
    assert r.code in ("InvalidRequest", "InvalidArgument", "InvalidDigest", "BadDigest"), r
    target.check_nothing_stored()


def test_boto3_put_with_checksum_algorithm(s3, bucket):
    # botocore sends x-amz-checksum-crc32 (header or trailer) when asked.
    for alg in ("CRC32", "SHA256", "SHA1"):
        data = det_bytes("b3-" + alg, 40_000)
        s3.put_object(Bucket=bucket, Key=alg, Body=data, ChecksumAlgorithm=alg)
        assert s3.get_object(Bucket=bucket, Key=alg)["Body"].read() == data


# ---------------------------------------------------------------- long bodies
# Bodies from 512 KiB on are hashed on the server's hashing threads, one 256 KiB block behind
# the socket, and reach the blob writer block by block; up to 64 uploads at once, later ones
# hash inline. The same checks must hold on both paths and at the block edges.

PIPE_MIN = 512 << 10
BLOCK = 256 << 10
LONG_SIZES = [PIPE_MIN - 1, PIPE_MIN, PIPE_MIN + 1, 4 * BLOCK, 5 * BLOCK + 12345]


@pytest.mark.parametrize("size", LONG_SIZES)
@pytest.mark.parametrize("mode", ["unsigned", "sha256", "content-md5", "crc32c", "sha1"])
def test_long_body(raw, target, size, mode):
    data = det_bytes("long-%s-%d" % (mode, size), size)
    headers, ph = {}, UNSIGNED
    if mode == "sha256":
        ph = sha256_hex(data)
    elif mode == "content-md5":
        headers["content-md5"] = md5_b64(data)
    elif mode in ("crc32c", "sha1"):
        headers["x-amz-checksum-" + mode] = checksum_b64(mode, data)
    r = raw.request("PUT", target.path("long"), body=data, headers=headers, payload_hash=ph)
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    g = target.get("long")
    assert g.status == 200 and g.body == data, (g.status, len(g.body))


@pytest.mark.parametrize("mode", ["sha256", "content-md5", "crc32", "sha256-checksum"])
@pytest.mark.parametrize("where", ["first-byte", "last-byte"])
def test_long_body_bad_digest(raw, target, mode, where):
    data = det_bytes("longbad-" + mode, 5 * BLOCK + 777)
    # The digest of a body that differs in one byte at either end.
    i = 0 if where == "first-byte" else len(data) - 1
    other = data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]

    def put(key):
        headers, ph = {}, UNSIGNED
        if mode == "sha256":
            ph = sha256_hex(other)
        elif mode == "content-md5":
            headers["content-md5"] = md5_b64(other)
        elif mode == "crc32":
            headers["x-amz-checksum-crc32"] = checksum_b64("crc32", other)
        else:
            headers["x-amz-checksum-sha256"] = checksum_b64("sha256", other)
        return raw.request("PUT", target.path(key), body=data, headers=headers, payload_hash=ph)
    want = "XAmzContentSHA256Mismatch" if mode == "sha256" else "BadDigest"
    for r in both_keys(put):
        assert r.status == 400, r
        assert r.code == want, r
    target.check_nothing_stored()


@pytest.mark.parametrize("size,chunk", [(PIPE_MIN, 65536), (5 * BLOCK + 3, 100_000),
                                        (3 * BLOCK, 1 << 20)])
def test_long_streaming_signed(raw, target, size, chunk):
    data = det_bytes("longstream-%d" % size, size)
    r = put_signed_chunked(raw, target.path("s"), data, chunk)
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    assert target.get("s").body == data
    for r in both_keys(lambda k: put_signed_chunked(raw, target.path(k), data, chunk,
                                                    tamper="data")):
        assert r.status == 403, r
    target.check_nothing_stored()


@pytest.mark.parametrize("alg", ["crc32", "sha256"])
def test_long_unsigned_trailer(raw, target, alg):
    data = det_bytes("longtrail-" + alg, 4 * BLOCK + 99)
    r = put_unsigned_trailer(raw, target.path("ut"), data, crc_trailer(data, alg), alg=alg)
    assert r.status == 200, r
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    assert target.get("ut").body == data
    for r in both_keys(lambda k: put_unsigned_trailer(raw, target.path(k), data,
                                                      crc_trailer(data[1:] + b"x", alg),
                                                      alg=alg)):
        assert r.status == 400 and r.code == "BadDigest", r
    target.check_nothing_stored()


def test_long_bodies_concurrently(raw, target):
    # More uploads at once than the server hashes off its request threads (64): the rest
    # hash inline; every ETag and body must be right either way.
    n = 80
    datas = [det_bytes("conc-%d" % i, PIPE_MIN + 4096 * i) for i in range(n)]
    results = [None] * n

    def put(i):
        results[i] = raw.request("PUT", target.path("c%d" % i), body=datas[i],
                                 payload_hash=UNSIGNED)
    run_threads(n, put)
    for i, r in enumerate(results):
        assert r.status == 200, (i, r)
        assert r.headers["ETag"] == '"%s"' % md5_hex(datas[i]), i
    for i in range(0, n, 7):
        assert target.get("c%d" % i).body == datas[i], i


@pytest.mark.parametrize("sent", [BLOCK // 2, BLOCK, 3 * BLOCK + 5])
def test_long_body_cut_short(server, raw, target, sent):
    # The client announces 2 MiB, sends part of it and hangs up: nothing is stored, nothing
    # is left in staging, and the server serves on.
    import socket
    import time
    data = det_bytes("cut-%d" % sent, 2 << 20)
    path = target.path("new")
    h, _ = raw.prepare("PUT", path, headers={"content-length": str(len(data))},
                       payload_hash=UNSIGNED)
    s = socket.create_connection(("127.0.0.1", server.port))
    head = "PUT %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in h.items())
    s.sendall(head.encode() + b"\r\n" + data[:sent])
    time.sleep(0.2)
    s.close()
    staging = os.path.join(server.data_dir, "staging")
    deadline = time.monotonic() + 10
    while os.listdir(staging) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.listdir(staging) == []
    target.check_nothing_stored()
