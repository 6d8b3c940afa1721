"""Nothing crashes the server: a deterministic stream of odd, correctly signed requests
(so that they get past authentication into the handlers) must each get a well-formed
answer that is never a 500, and leave the server serving."""
import random

from s3util import det_bytes, http_send, uri_encode, wire_query

N = 400

METHODS = ["GET", "PUT", "HEAD", "DELETE", "POST", "GET", "PUT"]
KEYS = ["k", "a/b", "", "%", "ü", "x" * 1100, "a b", "..", ".", "/", "?", "k" * 1024]
QUERIES = [
    [], [("list-type", "2")], [("list-type", "2"), ("max-keys", "-5")],
    [("list-type", "2"), ("continuation-token", "@@@")], [("list-type", "3")],
    [("max-keys", "99999999999999999999")], [("marker", "\u0000")], [("uploads", None)],
    [("uploadId", "nope"), ("partNumber", "0")], [("delete", None)], [("location", None)],
    [("acl", None)], [("tagging", None)], [("versioning", None)], [("torrent", None)],
    [("encoding-type", "url"), ("delimiter", "")], [("prefix", "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"))],
    [("response-content-type", "a\r\nb")], [("versionId", "null")],
]
HEADERS = [
    {}, {"range": "bytes=5-1"}, {"range": "bytes=-"}, {"range": "bytes=0-0,2-3"},
    {"range": "items=0-1"}, {"range": "bytes=18446744073709551615-"},
    {"if-match": ""}, {"if-modified-since": "yesterday"}, {"if-none-match": "*"},
    {"if-unmodified-since": "Mon, 32 Foo 2020 99:99:99 GMT"},
    {"content-md5": "===="}, {"x-amz-copy-source": "/"}, {"x-amz-copy-source": "%zz/%%"},
    {"x-amz-copy-source": "/nobucket/nokey"}, {"x-amz-metadata-directive": "BOTH"},
    {"x-amz-copy-source-if-match": "x", "x-amz-copy-source": "/fuzz/k"},
    {"x-amz-meta-" + "a" * 300: "b" * 3000}, {"content-type": "a/b; x=\"\\\""},
    {"x-amz-decoded-content-length": "-1", "content-encoding": "aws-chunked"},
    {"x-amz-checksum-crc32": "AAAA"}, {"x-amz-checksum-sha256": "!!"},
    {"x-amz-trailer": "x-amz-checksum-crc32"}, {"expect": "100-continue"},
    {"content-encoding": "aws-chunked"}, {"x-amz-storage-class": "GLACIERISH"},
]
BODIES = [
    b"", b"<", b"<CreateBucketConfiguration><LocationConstraint>" * 50,
    b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b '" + b"x" * 1000 + b"'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]><Delete>&c;&c;&c;</Delete>",
    b"<Delete><Object><Key>k</Key></Object></Delete>", b"\x00\xff" * 100,
    b"0;chunk-signature=zz\r\n\r\n", b"ffffffff\r\n",
]


def test_fuzzed_signed_requests(start_server):
    srv = start_server()
    c = srv.client()
    c.create_bucket(Bucket="fuzz")
    c.put_object(Bucket="fuzz", Key="k", Body=det_bytes("fuzz", 1000))
    raw = srv.raw()
    rnd = random.Random(4242)
    statuses = {}
    problems = []
    for i in range(N):
        method = rnd.choice(METHODS)
        bucket = rnd.choice(["fuzz", "fuzz", "nobucket", "Bad_Name", ""])
        key = rnd.choice(KEYS + [None, None])
        path = "/" + bucket if bucket else "/"
        if bucket and key is not None:
            path += "/" + uri_encode(key, keep_slash=True)
        query = rnd.choice(QUERIES)
        headers = dict(rnd.choice(HEADERS))
        if rnd.random() < 0.3:
            headers.update(rnd.choice(HEADERS))
        body = rnd.choice(BODIES) if method in ("PUT", "POST") else b""
        try:
            h, _ = raw.prepare(method, path, query, headers, body=body)
        except UnicodeEncodeError:
            continue
        h.setdefault("content-length", str(len(body)))
        target = path + ("?" + wire_query(query) if query else "")
        try:
            r = http_send(srv.port, method, target, h, body, timeout=60)
        except (ConnectionError, OSError) as e:
            assert srv.alive(), "server died on request %d: %s %s %r" % (i, method, target, headers)
            raise AssertionError("request %d: %s %s %r: %s" % (i, method, target, headers, e))
        statuses[r.status] = statuses.get(r.status, 0) + 1
        what = "request %d: %s %s %r -> %d" % (i, method, target, headers, r.status)
        if r.status == 500:
            problems.append(what + " (500): %r" % r.body[:300])
        if not r.headers.get("x-amz-request-id"):
            problems.append(what + ": no x-amz-request-id")
        if r.status >= 400 and method != "HEAD" and not r.error.get("Code"):
            problems.append(what + ": body is not a well-formed S3 error document: %r"
                            % r.body[-400:])
        assert srv.alive(), "server died after " + what
    assert not problems, "%d problems, the first ones:\n" % len(problems) + \
        "\n".join(problems[:8])
    # still serving, and the object that was never overwritten by a valid PUT is intact or
    # was replaced by one of the fuzz bodies, whole.
    assert c.list_buckets()["Buckets"]
    assert len(statuses) > 3


def test_garbage_on_the_wire(start_server):
    import socket
    srv = start_server()
    rnd = random.Random(99)
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        try:
            if i % 4 == 0:
                s.sendall(rnd.randbytes(rnd.randrange(1, 4000)))
            elif i % 4 == 1:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 100_000 + b"\r\n\r\n")
            elif i % 4 == 2:
                s.sendall(b"PUT /fuzz/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            else:
                s.sendall(b"GET /" + b"%" * 5000 + b" HTTP/1.0\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            s.settimeout(30)
            while s.recv(65536):
                pass
        except OSError:
            pass
        finally:
            s.close()
    assert srv.alive()
    srv.client().list_buckets()
