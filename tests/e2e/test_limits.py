"""Limits: each one answered with a clear error, and nothing else harmed (the server keeps
serving other clients, nothing partial is stored, the connection ends cleanly).

Covered elsewhere, not repeated here:
  KeyTooLongError .................. test_keys.py::test_key_too_long
  MetadataTooLarge on PutObject .... test_objects.py::test_metadata_too_large
  DeleteObjects > 1000 keys ........ test_delete_objects.py::test_more_than_1000_keys_is_malformed
  DeleteObjects body > 2 MiB ....... test_delete_objects.py::test_body_too_large
  part number 0 / 10001 (UploadPart, GetObject partNumber)
                                     test_multipart.py::test_error_codes, test_part_number_on_plain_object
  POST policy content-length-range . test_post_object.py::test_content_length_range
  idle keep-alive / never-sent request, stalled body
                                     test_connections.py::test_idle_connection_is_closed,
                                     test_slow_body_times_out_and_stores_nothing
"""
import os
import select
import socket
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client, raise_fd_limit
from s3util import (STREAMING, STREAMING_UNSIGNED_TRAILER, UNSIGNED, aws_chunked_signed,
                    error_fields, obj_path, sign_headers, wire_query)

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

MiB = 1 << 20


# ---------------------------------------------------------------- helpers

def err(fn, **kw):
    """(HTTP status, S3 error code) of a boto3 call expected to fail."""
    with pytest.raises(ClientError) as e:
        fn(**kw)
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]


def keys(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def staging_files(srv):
    """What is left under the data dir's staging/ once aborted requests are cleaned up."""
    staging = os.path.join(srv.data_dir, "staging")
    deadline = time.monotonic() + 10
    while True:
        left = os.listdir(staging) if os.path.isdir(staging) else []
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def head_bytes(method, target, headers):
    return ("%s %s HTTP/1.1\r\n" % (method, target)
            + "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n").encode()


def signed(srv, method, path, query=(), headers=None, payload=UNSIGNED):
    h = {"host": "127.0.0.1:%d" % srv.port}
    h.update(headers or {})
    return sign_headers(method, path, list(query), h, payload, srv.access_key, srv.secret)[0]


class Reply:
    """A response read off a raw socket up to the server's close."""

    def __init__(self, data, closed):
        self.data = data
        self.closed = closed  # the server closed the connection (FIN or reset)
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2) if lines and lines[0] else []
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        self.headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    @property
    def code(self):
        return error_fields(self.body).get("Code")

    def __repr__(self):
        return "<Reply closed=%s %r>" % (self.closed, self.data[:600])


def read_reply(s, limit_s=20):
    """Everything the server sends until it closes (or limit_s passes)."""
    s.settimeout(0.5)
    data = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return Reply(data, True)
        if not d:
            return Reply(data, True)
        data += d
    return Reply(data, False)


def exchange(port, raw, limit_s=20):
    """Sends raw bytes on a fresh connection (tolerating a server that stops reading) and
    reads the reply up to the server's close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        try:
            s.sendall(raw)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return read_reply(s, limit_s)
    finally:
        s.close()


def one_response(s):
    """One keep-alive response (head + Content-Length body) from a raw socket."""
    s.settimeout(20)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        assert d, "connection closed before a response: %r" % data
        data += d
    head, _, rest = data.partition(b"\r\n\r\n")
    n = 0
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        d = s.recv(65536)
        assert d, "connection closed in a response body"
        rest += d
    return Reply(head + b"\r\n\r\n" + rest[:n], False)


def still_serving(srv, bucket=None):
    c = make_client(srv.endpoint)
    assert c.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    if bucket is not None:
        c.put_object(Bucket=bucket, Key="after-the-limit", Body=b"fine")
        assert c.get_object(Bucket=bucket, Key="after-the-limit")["Body"].read() == b"fine"
        c.delete_object(Bucket=bucket, Key="after-the-limit")


# ---------------------------------------------------------------- request line and headers

def test_request_line_too_long(server, bucket):
    # MHD answers these itself (its own HTML body, not S3 XML) with a proper status.
    r = exchange(server.port, head_bytes("GET", "/" + bucket + "/" + "a" * (40 << 10),
                                         {"Host": "127.0.0.1:%d" % server.port}))
    assert r.status == 414, r
    assert r.headers.get("connection", "").lower() == "close" and r.closed, r
    still_serving(server, bucket)


@pytest.mark.parametrize("what", ["one-64KiB-header", "2000-headers"])
def test_headers_too_large(server, bucket, what):
    h = {"Host": "127.0.0.1:%d" % server.port}
    if what == "one-64KiB-header":
        h["X-Big"] = "b" * (64 << 10)
    else:
        h.update(("X-H%04d" % i, "v" * 10) for i in range(2000))
    r = exchange(server.port, head_bytes("GET", "/" + bucket, h))
    assert r.status == 431, r
    assert r.headers.get("connection", "").lower() == "close" and r.closed, r
    still_serving(server, bucket)


def test_250_signed_headers_are_all_seen(server, bucket):
    # Every header counts: a server that dropped some would fail the signature.
    extra = {"x-test-%03d" % i: "value-%d" % i for i in range(250)}
    s3path = obj_path(bucket)
    h = signed(server, "GET", s3path, [("list-type", "2")], extra)
    r = exchange(server.port, head_bytes("GET", s3path + "?list-type=2",
                                         dict(h, connection="close")))
    assert r.status == 200, r
    # and one unsigned header more than the 250 changes nothing
    h["x-unsigned-extra"] = "1"
    r = exchange(server.port, head_bytes("GET", s3path + "?list-type=2",
                                         dict(h, connection="close")))
    assert r.status == 200, r


# ---------------------------------------------------------------- metadata

def test_metadata_too_large_on_every_write(server, s3, bucket):
    big = {"k": "v" * 2100}
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    assert err(s3.create_multipart_upload, Bucket=bucket, Key="mp", Metadata=big) == \
        (400, "MetadataTooLarge")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert err(s3.copy_object, Bucket=bucket, Key="copy", Metadata=big,
               MetadataDirective="REPLACE", CopySource={"Bucket": bucket, "Key": "src"}) == \
        (400, "MetadataTooLarge")
    # POST Object: the metadata comes as form fields.
    p = s3.generate_presigned_post(bucket, "posted", Fields={"x-amz-meta-k": "v" * 2100},
                                   Conditions=[{"x-amz-meta-k": "v" * 2100}])
    files = [(k, (None, v)) for k, v in p["fields"].items()]
    files.append(("file", ("f", b"data", "application/octet-stream")))
    r = requests.post(p["url"], files=files, timeout=60)
    assert r.status_code == 400 and error_fields(r.content).get("Code") == "MetadataTooLarge", \
        r.content
    assert keys(s3, bucket) == ["src"]
    assert staging_files(server) == []
    still_serving(server, bucket)


# ---------------------------------------------------------------- XML bodies

def test_xml_body_too_large(server, s3, bucket, raw):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    doc = b"<Tagging><TagSet><Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>"
    body = doc + b" " * (3 * MiB)
    r = raw.request("PUT", obj_path(bucket, "k"), [("tagging", "")], {}, body)
    assert (r.status, r.code) == (400, "MaxMessageLengthExceeded"), r
    # Nesting past the parser's depth limit, and a flood of elements past its node limit.
    deep = b"<Tagging>" + b"<a>" * 100 + b"</a>" * 100 + b"</Tagging>"
    r = raw.request("PUT", obj_path(bucket, "k"), [("tagging", "")], {}, deep)
    assert (r.status, r.code) == (400, "MalformedXML"), r
    wide = b"<Tagging><TagSet>" + b"<x/>" * 70000 + b"</TagSet></Tagging>"
    r = raw.request("PUT", obj_path(bucket, "k"), [("tagging", "")], {}, wide)
    assert (r.status, r.code) == (400, "MalformedXML"), r
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
    still_serving(server, bucket)


def test_complete_multipart_limits(server, s3, bucket, raw):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1,
                          Body=b"part one")["ETag"]
    path = obj_path(bucket, "mp")

    def complete(body):
        return raw.request("POST", path, [("uploadId", uid)], {}, body)

    def parts_xml(nums):
        return ("<CompleteMultipartUpload>" + "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, etag) for n in nums)
            + "</CompleteMultipartUpload>").encode()

    r = complete(parts_xml(range(1, 10002)))
    assert (r.status, r.code) == (400, "MalformedXML"), r
    r = complete(parts_xml([1, 10001]))
    assert (r.status, r.code) == (400, "InvalidArgument"), r
    r = complete(parts_xml([1]) + b" " * (5 * MiB))  # the limit is 4 MiB
    assert (r.status, r.code) == (400, "MaxMessageLengthExceeded"), r
    # Nothing happened to the upload: it still completes.
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]] \
        == [1]
    assert keys(s3, bucket) == []
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"part one"


# ---------------------------------------------------------------- admin JSON body

def test_admin_body_too_large(admin_server, root_api):
    big = '{"name": "' + "x" * (300 << 10) + '", "permission": "object-read-only"}'
    r = root_api.post("/v1/credentials", raw=big)
    assert (r.status, r.code) == (413, "too_large"), r
    assert "body" in r.error.get("message", ""), r

    def chunks():  # no Content-Length: the limit must hold for a stream too
        yield b'{"name": "'
        for _ in range(16):
            yield b"y" * (64 << 10)
        yield b'", "permission": "object-read-only"}'
    resp = requests.post(root_api.base + "/v1/credentials", data=chunks(), timeout=60,
                         headers={"Authorization": "Bearer " + root_api.token,
                                  "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "too_large", resp.text
    assert [c for c in root_api.get("/v1/credentials").json["credentials"]
            if c["name"].startswith(("xxxx", "yyyy"))] == []
    assert root_api.get("/v1/health", token=None).status == 200


# ---------------------------------------------------------------- object size

@pytest.fixture
def small_server(start_server):
    srv = start_server(args=["--max-object-size", "1M"])
    make_client(srv.endpoint).create_bucket(Bucket="small")
    return srv


def test_entity_too_large_default_5tib(server, bucket):
    h = signed(server, "PUT", obj_path(bucket, "huge"),
               headers={"content-length": str((5 << 40) + 1)})
    s = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    s.sendall(head_bytes("PUT", obj_path(bucket, "huge"), h) + b"x" * 1000)
    r = read_reply(s)  # answered without waiting for the 5 TiB
    s.close()
    assert (r.status, r.code) == (400, "EntityTooLarge") and r.closed, r
    assert keys(server.client(), bucket) == []
    still_serving(server, bucket)


def test_entity_too_large_configured(small_server):
    srv = small_server
    c = make_client(srv.endpoint)
    c.put_object(Bucket="small", Key="exact", Body=b"e" * MiB)
    assert err(c.put_object, Bucket="small", Key="over", Body=b"o" * (MiB + 1)) == \
        (400, "EntityTooLarge")
    assert err(make_client(srv.endpoint).put_object, Bucket="small", Key="over",
               Body=b"o" * (3 * MiB)) == (400, "EntityTooLarge")
    # The server answers at the headers and closes: it does not wait for the body.
    path = obj_path("small", "raw")
    h = signed(srv, "PUT", path, headers={"content-length": str(100 * MiB)})
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(head_bytes("PUT", path, h))
    r = read_reply(s)
    s.close()
    assert (r.status, r.code) == (400, "EntityTooLarge") and r.closed, r
    # Multipart: a part over the maximum, and a whole over it.
    uid = c.create_multipart_upload(Bucket="small", Key="mp")["UploadId"]
    assert err(c.upload_part, Bucket="small", Key="mp", UploadId=uid, PartNumber=1,
               Body=b"p" * (MiB + 1)) == (400, "EntityTooLarge")
    assert c.list_parts(Bucket="small", Key="mp", UploadId=uid).get("Parts", []) == []
    assert keys(c, "small") == ["exact"]
    assert staging_files(srv) == []
    assert c.get_object(Bucket="small", Key="exact")["Body"].read() == b"e" * MiB


def test_entity_too_large_multipart_total(start_server):
    srv = start_server(args=["--max-object-size", "6M"])
    c = make_client(srv.endpoint)
    c.create_bucket(Bucket="mptotal")
    uid = c.create_multipart_upload(Bucket="mptotal", Key="k")["UploadId"]
    parts = []
    for n, size in ((1, 5 * MiB), (2, 2 * MiB)):
        e = c.upload_part(Bucket="mptotal", Key="k", UploadId=uid, PartNumber=n,
                          Body=b"%d" % n * size)["ETag"]
        parts.append({"PartNumber": n, "ETag": e})
    assert err(c.complete_multipart_upload, Bucket="mptotal", Key="k", UploadId=uid,
               MultipartUpload={"Parts": parts}) == (400, "EntityTooLarge")
    assert keys(c, "mptotal") == []
    # the upload is intact: a smaller subset still completes
    c.complete_multipart_upload(Bucket="mptotal", Key="k", UploadId=uid,
                                MultipartUpload={"Parts": parts[:1]})
    assert c.head_object(Bucket="mptotal", Key="k")["ContentLength"] == 5 * MiB


def test_entity_too_large_aws_chunked(small_server):
    srv = small_server
    path = obj_path("small", "chunked")
    hdr = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(2 * MiB),
           "content-length": str(3 * MiB)}
    h = signed(srv, "PUT", path, headers=hdr, payload=STREAMING)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(head_bytes("PUT", path, h))  # no body at all: the headers decide
    r = read_reply(s)
    s.close()
    assert (r.status, r.code) == (400, "EntityTooLarge") and r.closed, r
    # A real signed aws-chunked upload over the limit, sent whole.
    data = b"c" * (MiB + 10)
    h, ctx = sign_headers("PUT", path, [], {"host": "127.0.0.1:%d" % srv.port,
                                            "content-encoding": "aws-chunked",
                                            "x-amz-decoded-content-length": str(len(data))},
                          STREAMING, srv.access_key, srv.secret)
    body = aws_chunked_signed(data, ctx)
    h["content-length"] = str(len(body))
    r = exchange(srv.port, head_bytes("PUT", path, h) + body)
    assert (r.status, r.code) == (400, "EntityTooLarge"), r
    c = make_client(srv.endpoint)
    assert keys(c, "small") == []
    assert staging_files(srv) == []


def test_unknown_length_stream(small_server):
    srv = small_server
    path = obj_path("small", "stream")
    # HTTP chunked without any announced length: refused before a byte is read.
    h = signed(srv, "PUT", path, headers={"transfer-encoding": "chunked"})
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(head_bytes("PUT", path, h))
    r = read_reply(s)
    s.close()
    assert (r.status, r.code) == (411, "MissingContentLength") and r.closed, r
    # An aws-chunked stream announcing 1000 bytes that never ends: the server must stop
    # reading at some bounded point instead of swallowing it for ever.
    hdr = {"transfer-encoding": "chunked", "content-encoding": "aws-chunked",
           "x-amz-decoded-content-length": "1000"}
    h = signed(srv, "PUT", path, headers=hdr, payload=STREAMING_UNSIGNED_TRAILER)
    inner = b"%x\r\n" % (64 << 10) + b"z" * (64 << 10) + b"\r\n"
    piece = b"%x\r\n" % len(inner) + inner + b"\r\n"
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    s.sendall(head_bytes("PUT", path, h))
    s.setblocking(False)
    sent, answer, cut = 0, b"", False
    deadline = time.monotonic() + 60
    while not cut and sent < 256 * MiB and time.monotonic() < deadline:
        rd, wr, _ = select.select([s], [s], [], 1.0)
        try:
            if rd:
                d = s.recv(65536)
                if not d:
                    cut = True
                answer += d
            elif wr:
                sent += s.send(piece)
        except BlockingIOError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            cut = True
    s.close()
    assert cut, "the server read %d MiB of an endless body" % (sent >> 20)
    assert sent < 64 * MiB, sent
    if answer:
        assert Reply(answer, True).status == 400, answer[:500]
    c = make_client(srv.endpoint)
    assert keys(c, "small") == []
    assert staging_files(srv) == []
    c.put_object(Bucket="small", Key="after", Body=b"ok")
    assert c.get_object(Bucket="small", Key="after")["Body"].read() == b"ok"


# ---------------------------------------------------------------- POST form

def post_form(url, fields, data=b"data"):
    files = [(k, (None, v)) for k, v in fields]
    files.append(("file", ("f", data, "application/octet-stream")))
    return requests.post(url, files=files, timeout=60)


def test_post_file_size_limit(small_server):
    # The maximum is the file's size, not the whole form's.
    srv = small_server
    c = make_client(srv.endpoint)
    p = c.generate_presigned_post("small", "posted/${filename}")
    r = post_form(p["url"], list(p["fields"].items()), b"m" * MiB)
    assert r.status_code == 204, r.content[:500]
    r = post_form(p["url"], list(p["fields"].items()), b"m" * (MiB + 1))
    assert r.status_code == 400, r.content[:500]
    assert error_fields(r.content).get("Code") == "EntityTooLarge", r.content[:500]
    r = post_form(p["url"], list(p["fields"].items()), b"m" * (5 * MiB))
    assert error_fields(r.content).get("Code") == "EntityTooLarge", r.content[:500]
    assert keys(c, "small") == ["posted/f"]
    assert c.head_object(Bucket="small", Key="posted/f")["ContentLength"] == MiB
    assert staging_files(srv) == []


@pytest.mark.parametrize("extra", [
    "one-field-over-64KiB", "fields-over-1MiB", "over-1000-fields", "policy-over-64KiB"])
def test_post_form_too_large(server, s3, bucket, extra):
    p = s3.generate_presigned_post(bucket, "form/${filename}")
    fields = list(p["fields"].items())
    if extra == "one-field-over-64KiB":
        fields.append(("x-ignore-big", "x" * (65 << 10)))
    elif extra == "fields-over-1MiB":
        fields += [("x-ignore-%d" % i, "y" * (60 << 10)) for i in range(18)]
    elif extra == "over-1000-fields":
        fields += [("x-ignore-%d" % i, "z") for i in range(1001)]
    else:
        fields = [(k, "p" * (65 << 10) if k == "policy" else v) for k, v in fields]
    r = post_form(p["url"], fields)
    assert r.status_code == 400, r.content[:500]
    assert error_fields(r.content).get("Code") == "MaxPostPreDataLengthExceededError", \
        r.content[:500]
    assert keys(s3, bucket) == []
    assert staging_files(server) == []
    # the same form without the excess works
    r = post_form(p["url"], list(p["fields"].items()))
    assert r.status_code == 204, r.content
    assert keys(s3, bucket) == ["form/f"]


# ---------------------------------------------------------------- connections

def test_connection_limit_answers_slowdown(start_server):
    raise_fd_limit(256)
    srv = start_server(args=["--max-connections", "20"])
    held = []
    try:
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            s.sendall(head_bytes("GET", "/", signed(srv, "GET", "/")))
            r = one_response(s)
            assert r.status == 200, (i, r)
            held.append(s)
        # The 21st connection: S3's SlowDown, then the server closes it.
        r = exchange(srv.port, head_bytes("GET", "/lim/k", {"Host": "127.0.0.1:%d" % srv.port}))
        assert (r.status, r.code) == (503, "SlowDown"), r
        assert r.headers.get("connection", "").lower() == "close" and r.closed, r
        assert error_fields(r.body).get("Resource") == "/lim/k", r
        assert err(make_client(srv.endpoint).list_buckets) == (503, "SlowDown")
        # A body sent with it is not read into anything.
        h = signed(srv, "PUT", "/lim/k", headers={"content-length": str(MiB)})
        r = exchange(srv.port, head_bytes("PUT", "/lim/k", h) + b"x" * MiB)
        assert (r.status, r.code) == (503, "SlowDown"), r
        # The 20 are still served.
        for s in held:
            s.sendall(head_bytes("GET", "/", signed(srv, "GET", "/")))
            assert one_response(s).status == 200
        # Closing some makes room again.
        for s in held[:5]:
            s.close()
        del held[:5]
        deadline = time.monotonic() + 15
        while True:
            try:
                make_client(srv.endpoint).create_bucket(Bucket="lim")
                break
            except ClientError as e:
                assert e.response["Error"]["Code"] == "SlowDown", e.response
                assert time.monotonic() < deadline, "no room after closing 5 connections"
                time.sleep(0.1)
        c = make_client(srv.endpoint)
        c.put_object(Bucket="lim", Key="k", Body=b"room again")
        assert keys(c, "lim") == ["k"]
        assert staging_files(srv) == []
    finally:
        for s in held:
            s.close()


SLOW_CONNS = 500


def test_slowloris_does_not_stall_normal_clients(start_server):
    raise_fd_limit(SLOW_CONNS + 512)
    srv = start_server()
    make_client(srv.endpoint).create_bucket(Bucket="loris")
    socks = []
    stop = threading.Event()
    trickle = b"GET /loris HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100000

    def trickler():
        pos = 0
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(trickle[pos:pos + 1])
                except OSError:
                    pass
            pos += 1
            stop.wait(1.0)

    try:
        for _ in range(SLOW_CONNS):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            s.setblocking(False)
            socks.append(s)
        t = threading.Thread(target=trickler, daemon=True)
        t.start()
        time.sleep(1.5)  # every slow connection has started its request
        times = []
        for i in range(5):
            c = make_client(srv.endpoint)  # a fresh connection each time
            t0 = time.monotonic()
            c.put_object(Bucket="loris", Key="k%d" % i, Body=b"quick")
            assert c.get_object(Bucket="loris", Key="k%d" % i)["Body"].read() == b"quick"
            times.append(time.monotonic() - t0)
            time.sleep(0.5)
        assert max(times) < 1.0, times
        # the slow ones were neither answered nor dropped early (default 60 s timeout)
        open_ = 0
        for s in socks:
            try:
                open_ += s.recv(1) == b""
            except BlockingIOError:
                open_ += 1
            except OSError:
                pass
        assert open_ == SLOW_CONNS, open_
    finally:
        stop.set()
        for s in socks:
            s.close()


def test_trickled_headers_are_cut_at_the_idle_timeout(start_server):
    srv = start_server(args=["--idle-timeout", "3"])
    # Headers that complete in time are served, however slowly they came.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    for ch in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n":
        s.sendall(bytes([ch]))
        time.sleep(0.03)
    r = one_response(s)
    assert r.status == 403 and r.code == "AccessDenied", r
    s.close()
    # One byte every 0.3 s resets an idle timer for ever: the headers' deadline does not.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    t0 = time.monotonic()
    closed = False
    trickle = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000
    s.settimeout(0.3)
    for ch in trickle:
        try:
            s.sendall(bytes([ch]))
            d = s.recv(1)
            if d == b"":
                closed = True
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if time.monotonic() - t0 > 30:
            break
    s.close()
    assert closed, "a request trickling its headers was never cut"
    assert time.monotonic() - t0 > 1.0  # it was not refused at once either
    still_serving(srv)


def test_admin_connection_limit_answers_json(start_admin_server):
    # The admin listener serves 256 connections at once; the next one hears JSON, not XML.
    raise_fd_limit(1024)
    srv = start_admin_server()
    held = []
    try:
        for i in range(256):
            s = socket.create_connection(("127.0.0.1", srv.admin_port), timeout=20)
            s.sendall(head_bytes("GET", "/v1/health", {"Host": "127.0.0.1"}))
            assert one_response(s).status == 200, i
            held.append(s)
        r = requests.get("http://127.0.0.1:%d/v1/health" % srv.admin_port, timeout=20)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "too_many_requests", r.text
        assert r.headers.get("Connection", "").lower() == "close"
        for s in held[:10]:
            s.close()
        del held[:10]
        deadline = time.monotonic() + 15
        while requests.get("http://127.0.0.1:%d/v1/health" % srv.admin_port,
                           timeout=20).status_code != 200:
            assert time.monotonic() < deadline, "no room after closing 10 connections"
            time.sleep(0.1)
    finally:
        for s in held:
            s.close()
