"""Security: keys never escape the data directory or reach another bucket, XML with a
DOCTYPE or entities is refused by every operation that reads XML, every admin route but
health refuses a missing or invalid bearer token (route by route from docs/openapi.yaml),
and an address with too many failed authentications is locked out (and logged) while
clients elsewhere are not. Secrets in logs are checked for the whole session by conftest."""
import http.client
import os
import socket
import threading
import time
import uuid
from urllib.parse import unquote_to_bytes

import pytest
import requests
import yaml

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import AdminApi, ROOT_TOKEN, rfc3339, s3_client, sleep_past, utcnow
from conftest import REPO, ROOT_AK, ROOT_SK, make_client
from s3util import (Response, obj_path, parse_xml, sha256_hex, sign_headers, uri_encode,
                    wire_query)


# ---------------------------------------------------------------- helpers

def tree(root, skip=()):
    """{relative path: (size, mtime_ns)} of every file and directory under root, minus the
    subtrees in skip (absolute paths)."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
        for name in dirs + files:
            p = os.path.join(d, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def names_containing(root, marker, max_depth=None):
    """Every path under root whose name contains marker (no symlinks followed)."""
    hits = []
    base = root.rstrip("/").count("/")
    for d, dirs, files in os.walk(root, onerror=lambda e: None):
        if max_depth is not None and d.count("/") - base >= max_depth:
            dirs[:] = []
        hits += [os.path.join(d, n) for n in dirs + files if marker in n]
    return hits


def list_keys(raw, bucket, prefix=None):
    q = [("list-type", "2"), ("encoding-type", "url")]
    if prefix is not None:
        q.append(("prefix", prefix))
    r = raw.request("GET", "/" + bucket, query=q)
    assert r.status == 200, r
    root = parse_xml(r.body)
    return [unquote_to_bytes(c.findtext("Key")).decode("utf-8", "surrogatepass")
            for c in root.findall("Contents")]


def send_from(source, port, method, target, headers, body=b"", timeout=60):
    """One request on a fresh connection bound to the source address (all of 127/8 is
    loopback on Linux, so each 127.x.y.z is a different client to the server)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body or method in ("PUT", "POST"):
            conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return Response(resp.status, resp.reason, resp.headers, resp.read())
    finally:
        conn.close()


def wait_admin(srv, timeout=60):
    """start() waits for the S3 port; the admin listener starts just after it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", srv.admin_port), timeout=1):
                return srv
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def signed_from(source, srv, method, path, query=(), body=b"", secret=ROOT_SK, access_key=ROOT_AK):
    h, _ = sign_headers(method, path, list(query), {"host": "127.0.0.1:%d" % srv.port},
                        sha256_hex(body), access_key, secret)
    target = path + ("?" + wire_query(list(query)) if query else "")
    return send_from(source, srv.port, method, target, h, body)


def admin_from(source, srv, method, path, token=None, body=None):
    h = {"host": "127.0.0.1:%d" % srv.admin_port}
    if token is not None:
        h["authorization"] = "Bearer " + token
    data = b""
    if body is not None:
        import json
        data = json.dumps(body).encode()
        h["content-type"] = "application/json"
    r = send_from(source, srv.admin_port, method, path, h, data)
    import json
    try:
        r.json = json.loads(r.body)
    except ValueError:
        r.json = None
    return r


# ---------------------------------------------------------------- keys vs. the filesystem

# (name, path on the wire after /bucket/, the key S3 must store). The marker M is replaced
# by a unique token so any file a key might create can be searched for by name.
ESCAPES = [
    ("dotdot", "../M", "../M"),
    ("dotdot-etc-passwd", "../../etc/passwd-M", "../../etc/passwd-M"),
    ("inner-dotdot", "a/../../M", "a/../../M"),
    ("encoded-dotdot-slash", "%2e%2e%2fM", "../M"),
    ("encoded-dotdot-upper", "%2E%2E%2FM", "../M"),
    ("encoded-dots-raw-slash", "%2e%2e/%2e%2e/M", "../../M"),
    ("double-encoded", "%252e%252e%252fM", "%2e%2e%2fM"),
    ("absolute", "/abs/path/M", "/abs/path/M"),
    ("absolute-etc", "/etc/passwd-M", "/etc/passwd-M"),
    ("dot", "./M", "./M"),
    ("deep-dotdot", "../" * 40 + "M", "../" * 40 + "M"),
    ("backslashes", "..%5C..%5CM", "..\\..\\M"),
    ("encoded-slash-run", "..%2F..%2F..%2FM", "../../../M"),
    ("trailing-dotdot", "M/..", "M/.."),
    ("only-dotdot-after-marker", "M/../..", "M/../.."),
    ("tilde-home", "~/M", "~/M"),
    ("proc-self", "../../../../proc/self/M", "../../../../proc/self/M"),
]


@pytest.fixture
def fs_guard(server, tmp_root):
    """Snapshots the test tree (outside the data directory) and /etc/passwd; after the test,
    nothing outside the data directory may have appeared or changed, and inside it only the
    blob store, staging and the database may have."""
    data = os.path.realpath(server.data_dir)
    logs = {os.path.realpath(p) for run in server.runs for p in run}
    before = {k: v for k, v in tree(tmp_root, skip={data}).items()
              if os.path.join(tmp_root, k) not in logs}
    before_data = tree(data)
    passwd = os.stat("/etc/passwd")
    yield
    after = {k: v for k, v in tree(tmp_root, skip={data}).items()
             if os.path.join(tmp_root, k) not in logs}
    # Other fixtures' scratch dirs come and go; files appearing next to the server are not.
    server_dir = os.path.relpath(os.path.realpath(server.workdir), tmp_root)
    new = [k for k in set(after) - set(before)
           if k.startswith(server_dir + os.sep) or k == server_dir]
    assert not new, "files created outside the data directory: %s" % new
    for k in set(before) & set(after):
        if k.startswith(server_dir + os.sep) and os.path.isfile(os.path.join(tmp_root, k)):
            assert before[k][0] == after[k][0], "changed outside the data directory: " + k
    allowed = ("blobs", "staging", "meta.db")
    for k in set(tree(data)) - set(before_data):
        assert k.split(os.sep)[0].startswith(allowed), "unexpected file in the data dir: " + k
    st = os.stat("/etc/passwd")
    assert (st.st_size, st.st_mtime_ns) == (passwd.st_size, passwd.st_mtime_ns)


@pytest.mark.parametrize("name,wire,key", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_key_cannot_escape(server, raw, bucket, bucket2, fs_guard, tmp_root, name, wire, key):
    marker = "esc" + uuid.uuid4().hex[:12]
    wire = wire.replace("M", marker)
    key = key.replace("M", marker)
    body = ("escape attempt " + name).encode()
    # The wire path is sent as is; the signature covers S3's canonical form (decode once,
    # re-encode), which is what the server must compute too.
    h, _ = raw.prepare("PUT", obj_path(bucket, key), body=body)
    r = raw.send("PUT", "/%s/%s" % (bucket, wire), headers=h, body=body)
    assert r.status == 200, r
    # Exact round trip, by the canonical path and by the wire path.
    r = raw.request("GET", obj_path(bucket, key))
    assert r.status == 200 and r.body == body, r
    h, _ = raw.prepare("GET", obj_path(bucket, key))
    r = raw.send("GET", "/%s/%s" % (bucket, wire), headers=h)
    assert r.status == 200 and r.body == body, r
    assert list_keys(raw, bucket) == [key]
    # Not visible from the other bucket, which stays empty.
    r = raw.request("GET", obj_path(bucket2, key))
    assert r.status == 404 and r.code == "NoSuchKey", r
    r = raw.request("HEAD", obj_path(bucket2, key))
    assert r.status == 404, r
    assert list_keys(raw, bucket2) == []
    # No file anywhere near the server is named after the key.
    assert names_containing(tmp_root, marker) == []
    assert names_containing("/tmp", marker, max_depth=2) == []
    assert not os.path.exists("/etc/passwd-" + marker)
    assert not os.path.exists("/abs/path/" + marker)
    r = raw.request("DELETE", obj_path(bucket, key))
    assert r.status == 204, r
    assert list_keys(raw, bucket) == []


def test_dotdot_cannot_reach_another_bucket(server, raw, bucket, bucket2, fs_guard):
    raw.request("PUT", obj_path(bucket2, "secret"), body=b"bucket2's secret")
    for wire in ("/%s/../%s/secret" % (bucket, bucket2),
                 "/%s/%%2e%%2e%%2f%s%%2fsecret" % (bucket, bucket2),
                 "/%s/..%%2F%s/secret" % (bucket, bucket2)):
        key = "../%s/secret" % bucket2
        h, _ = raw.prepare("GET", obj_path(bucket, key))
        r = raw.send("GET", wire, headers=h)
        assert r.status == 404 and r.code == "NoSuchKey", (wire, r)
        assert b"bucket2's secret" not in r.body
    # A bucket segment with an encoded slash is not a path either.
    for wire in ("/%s%%2F..%%2F%s/secret" % (bucket, bucket2), "/..%%2F%s/secret" % bucket2):
        r = raw.request("GET", wire)
        assert 400 <= r.status < 500 and b"bucket2's secret" not in r.body, (wire, r)
    # Copying from "bucket/../bucket2/secret" names a key of bucket, not bucket2's object.
    r = raw.request("PUT", obj_path(bucket, "copy"),
                    headers={"x-amz-copy-source": "/%s/../%s/secret" % (bucket, bucket2)})
    assert r.status == 404 and r.code == "NoSuchKey", r
    assert list_keys(raw, bucket) == []


def test_scoped_credential_cannot_climb_out(admin_server, root_api, make_bucket):
    mine = make_bucket("-mine")
    other = make_bucket("-other", objects={"secret": b"not yours"})
    cred = root_api.cred("object-read-write", [mine])
    raw = admin_server.raw(access_key=cred.id, secret=cred.secret)
    key = "../%s/secret" % other
    for wire in ("/%s/../%s/secret" % (mine, other), "/%s/%%2e%%2e%%2f%s%%2fsecret" % (mine, other)):
        h, _ = raw.prepare("GET", obj_path(mine, key))
        r = raw.send("GET", wire, headers=h)
        assert r.status == 404 and r.code == "NoSuchKey", (wire, r)
    r = raw.request("GET", obj_path(other, "secret"))
    assert r.status == 403 and r.code == "AccessDenied", r
    r = raw.request("PUT", obj_path(mine, "copy"),
                    headers={"x-amz-copy-source": "/%s/../%s/secret" % (mine, other)})
    assert r.status == 404, r


@pytest.mark.parametrize("wire", ["a%00b", "%00", "k%00/../../etc/passwd", "%C0%80"],
                         ids=["inner", "only", "before-dotdot", "overlong-nul"])
def test_nul_in_key_refused_never_truncated(server, raw, bucket, fs_guard, wire):
    # S3 keys are UTF-8 strings; a NUL would truncate a C string somewhere downstream, so
    # it is refused outright (400 with a clear message), never stored as "a" or "k".
    for method in ("PUT", "GET", "HEAD", "DELETE"):
        body = b"x" if method == "PUT" else b""
        path = "/%s/%s" % (bucket, wire)  # its escapes are already canonical
        h, _ = raw.prepare(method, path, body=body)
        r = raw.send(method, path, headers=h, body=body)
        assert r.status == 400, (method, r)
        if method != "HEAD":
            assert r.code == "InvalidArgument", r
            if "%00" in wire:
                assert b"NUL" in r.body, r
    assert list_keys(raw, bucket) == []
    for k in ("a", "k", ""):
        if k:
            assert raw.request("HEAD", obj_path(bucket, k)).status == 404


# Valid UTF-8 that must round-trip byte for byte (no normalisation of any kind).
ODD_UTF8 = [
    ("emoji-4-byte", "😀/🏳️‍🌈/𝄞"),
    ("combining", "e\u0301"),
    ("precomposed", "\u00e9"),
    ("rtl-override", "abc\u202eexe.txt"),
    ("rtl-arabic", "مرحبا/עברית"),
    ("noncharacter-ffff", "x\uffffy"),
    ("noncharacter-fffe", "\ufffe"),
    ("bom", "\ufeffbom"),
    ("max-code-point", "\U0010ffff"),
    ("zero-width", "a\u200bb\u200d"),
    ("c1-control", "a\u0085b\u009fc"),
    ("line-separators", "a\u2028b\u2029c"),
    ("fullwidth-dots", "\uff0e\uff0e\uff0fetc"),
    ("one-dot-leader", "\u2024\u2024/x"),
]


@pytest.mark.parametrize("name,key", ODD_UTF8, ids=[k[0] for k in ODD_UTF8])
def test_odd_utf8_round_trip(server, raw, s3, bucket, bucket2, fs_guard, name, key):
    body = key.encode("utf-8")
    r = raw.request("PUT", obj_path(bucket, key), body=body)
    assert r.status == 200, r
    r = raw.request("GET", obj_path(bucket, key))
    assert r.status == 200 and r.body == body, r
    assert list_keys(raw, bucket) == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert raw.request("HEAD", obj_path(bucket2, key)).status == 404


def test_normalisation_forms_are_distinct_keys(raw, bucket):
    # "é" precomposed and "e" + combining acute are different keys, as in S3.
    raw.request("PUT", obj_path(bucket, "\u00e9"), body=b"nfc")
    raw.request("PUT", obj_path(bucket, "e\u0301"), body=b"nfd")
    assert raw.request("GET", obj_path(bucket, "\u00e9")).body == b"nfc"
    assert raw.request("GET", obj_path(bucket, "e\u0301")).body == b"nfd"
    assert sorted(list_keys(raw, bucket)) == sorted(["\u00e9", "e\u0301"])


BAD_UTF8 = [
    ("overlong-dotdot-slash", "%C0%AE%C0%AE%C0%AF"),
    ("overlong-slash-3", "%E0%80%AF"),
    ("overlong-4", "%F0%80%80%AF"),
    ("lone-high-surrogate", "%ED%A0%80"),
    ("lone-low-surrogate", "%ED%B0%80"),
    ("surrogate-pair-cesu", "%ED%A0%BD%ED%B8%80"),
    ("above-10ffff", "%F4%90%80%80"),
    ("five-byte", "%F8%88%80%80%80"),
    ("lead-ff", "%FF"),
    ("stray-continuation", "a%80b"),
    ("truncated", "%E2%82"),
    ("truncated-at-end-of-dotdot", "..%2F%E2"),
]


@pytest.mark.parametrize("name,wire", BAD_UTF8, ids=[b[0] for b in BAD_UTF8])
def test_invalid_utf8_key_refused(server, raw, bucket, fs_guard, name, wire):
    path = "/%s/%s" % (bucket, wire)
    canonical = "/%s/%s" % (bucket, uri_encode(unquote_to_bytes(wire), keep_slash=True))
    for method in ("PUT", "GET"):
        body = b"x" if method == "PUT" else b""
        h, _ = raw.prepare(method, canonical, body=body)
        r = raw.send(method, path, headers=h, body=body)
        assert r.status == 400 and r.code == "InvalidArgument", (method, r)
        assert b"UTF-8" in r.body
    assert list_keys(raw, bucket) == []


def test_key_length_limits(server, raw, bucket, bucket2, fs_guard):
    ok = ["../" * 341 + "x", "😀" * 256, "%2e%2e%2f"]
    assert [len(k.encode()) for k in ok[:2]] == [1024, 1024]
    for key in ok[:2]:
        r = raw.request("PUT", obj_path(bucket, key), body=b"long")
        assert r.status == 200, r
        assert raw.request("GET", obj_path(bucket, key)).body == b"long"
        assert raw.request("HEAD", obj_path(bucket2, key)).status == 404
    # 1024 decoded bytes sent as 3072 bytes of escapes are fine too.
    key = "../" * 341 + "y"
    h, _ = raw.prepare("PUT", obj_path(bucket, key), body=b"esc")
    r = raw.send("PUT", "/%s/%s" % (bucket, "%2e%2e%2f" * 341 + "y"), headers=h, body=b"esc")
    assert r.status == 200, r
    for key in ("../" * 341 + "xy", "😀" * 256 + "x", "/" * 1025):
        assert len(key.encode()) == 1025
        r = raw.request("PUT", obj_path(bucket, key), body=b"x")
        assert r.status == 400 and r.code == "KeyTooLongError", r
        r = raw.request("GET", obj_path(bucket, key))
        assert r.status == 400 and r.code == "KeyTooLongError", r
    # Very long: the server answers without storing or crashing.
    for n in (4096, 16000):
        r = raw.request("PUT", obj_path(bucket, "k" * n), body=b"x")
        assert 400 <= r.status < 500, r
    assert sorted(list_keys(raw, bucket)) == sorted([ok[0], ok[1], "../" * 341 + "y"])


BAD_BUCKETS = ["..", ".", "a..b", "..a", "a..", ".hidden", "dots.", "%2e%2e", "..%2Fetc",
               "a%2F..%2Fb", "%00", "a%00b", "192.168.1.1", "UPPER", "a_b", "-a", "a" * 64,
               "ab", "%E2%80%AE"]


@pytest.mark.parametrize("name", BAD_BUCKETS)
def test_bad_bucket_names_refused(server, raw, fs_guard, name):
    before = raw.request("GET", "/")
    h, _ = raw.prepare("PUT", "/" + uri_encode(unquote_to_bytes(name), keep_slash=True))
    r = raw.send("PUT", "/" + name, headers=h)
    assert r.status == 400 and r.code in ("InvalidBucketName", "InvalidArgument",
                                          "InvalidURI"), r
    after = raw.request("GET", "/")
    assert parse_xml(after.body).findall("Buckets/Bucket") is not None
    assert len(parse_xml(after.body).findall("Buckets/Bucket")) == \
        len(parse_xml(before.body).findall("Buckets/Bucket"))


@pytest.mark.parametrize("name", ["..", "a..b", "../etc", "a/b", "/abs", "a\u0000b", ".x"])
def test_bad_bucket_names_refused_by_admin_api(admin_server, root_api, name):
    r = root_api.post("/v1/buckets", {"name": name})
    assert r.status == 400 and r.code == "invalid_request", r
    # (jansson itself refuses a NUL in a JSON string, before the field is looked at)
    assert r.field == "name" or "\u0000" in name, r


# ---------------------------------------------------------------- XML: no DOCTYPE, no entities

XML_ATTACKS = {
    "doctype-only": b"<?xml version='1.0'?><!DOCTYPE r>",
    "internal-entity": b"<!DOCTYPE r [<!ENTITY e 'x'>]>",
    "external-file": b"<!DOCTYPE r [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>",
    "external-http": b"<!DOCTYPE r [<!ENTITY e SYSTEM 'http://127.0.0.1:PORT/e'>]>",
    "parameter-entity": b"<!DOCTYPE r [<!ENTITY % p SYSTEM 'http://127.0.0.1:PORT/p'> %p;]>",
    "external-dtd": b"<!DOCTYPE r SYSTEM 'http://127.0.0.1:PORT/dtd'>",
    "billion-laughs": b"<!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>"
                      b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                      b"<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
                      b"<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
                      b"<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>]>",
}

# (operation, method, path suffix after the bucket, query, document using entity &e;)
XML_OPS = [
    ("CreateBucket", "PUT", "", [],
     b"<CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint>"
     b"</CreateBucketConfiguration>"),
    ("DeleteObjects", "POST", "", [("delete", None)],
     b"<Delete><Object><Key>&e;</Key></Object></Delete>"),
    ("PutBucketCors", "PUT", "", [("cors", None)],
     b"<CORSConfiguration><CORSRule><AllowedOrigin>&e;</AllowedOrigin>"
     b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"),
    ("PutBucketLifecycleConfiguration", "PUT", "", [("lifecycle", None)],
     b"<LifecycleConfiguration><Rule><ID>&e;</ID><Filter><Prefix></Prefix></Filter>"
     b"<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
     b"</LifecycleConfiguration>"),
    ("PutBucketTagging", "PUT", "", [("tagging", None)],
     b"<Tagging><TagSet><Tag><Key>k</Key><Value>&e;</Value></Tag></TagSet></Tagging>"),
    ("PutObjectTagging", "PUT", "/obj", [("tagging", None)],
     b"<Tagging><TagSet><Tag><Key>k</Key><Value>&e;</Value></Tag></TagSet></Tagging>"),
    ("CompleteMultipartUpload", "POST", "/mpu", [("uploadId", "UPLOAD")],
     b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part>"
     b"</CompleteMultipartUpload>"),
]


class Listener:
    """A loopback TCP listener counting connections: any fetch of an external entity or
    DTD would show up here."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.mark.parametrize("attack", sorted(XML_ATTACKS))
@pytest.mark.parametrize("op,method,suffix,query,doc", XML_OPS, ids=[o[0] for o in XML_OPS])
def test_xml_doctype_and_entities_refused(server, raw, bucket, bucket_name, listener, attack,
                                          op, method, suffix, query, doc):
    target = bucket_name if op == "CreateBucket" else bucket
    if op == "PutObjectTagging":
        assert raw.request("PUT", obj_path(bucket, "obj"), body=b"o").status == 200
    if op == "CompleteMultipartUpload":
        r = raw.request("POST", obj_path(bucket, "mpu"), query=[("uploads", None)])
        upload = parse_xml(r.body).findtext("UploadId")
        assert raw.request("PUT", obj_path(bucket, "mpu"),
                           query=[("partNumber", "1"), ("uploadId", upload)],
                           body=b"p" * 100).status == 200
        query = [("uploadId", upload)]
    if attack in ("doctype-only", "external-dtd"):
        doc = doc.replace(b"&e;", b"x")  # the DOCTYPE alone must be the reason
    body = b"<?xml version='1.0'?>" + XML_ATTACKS[attack].replace(
        b"<?xml version='1.0'?>", b"").replace(b"PORT", str(listener.port).encode()) + doc
    headers = {"content-md5": __import__("s3util").md5_b64(body)}
    r = raw.request(method, "/" + target + suffix, query=query, headers=headers, body=body)
    assert r.status == 400 and r.code == "MalformedXML", r
    assert b"root:" not in r.body and b"aaaaaaaaaa" not in r.body
    assert listener.hits == 0
    # Nothing took effect.
    if op == "CreateBucket":
        assert raw.request("HEAD", "/" + bucket_name).status == 404
    elif op == "PutBucketCors":
        assert raw.request("GET", "/" + bucket, query=[("cors", None)]).status == 404
    elif op == "PutBucketLifecycleConfiguration":
        assert raw.request("GET", "/" + bucket, query=[("lifecycle", None)]).status == 404
    elif op == "PutBucketTagging":
        assert raw.request("GET", "/" + bucket, query=[("tagging", None)]).status == 404
    elif op == "PutObjectTagging":
        r = raw.request("GET", obj_path(bucket, "obj"), query=[("tagging", None)])
        assert r.status == 200 and parse_xml(r.body).findall("TagSet/Tag") == [], r
    elif op == "CompleteMultipartUpload":
        assert raw.request("HEAD", obj_path(bucket, "mpu")).status == 404
        raw.request("DELETE", obj_path(bucket, "mpu"), query=query)


# ---------------------------------------------------------------- admin: 401 route by route

def openapi_routes():
    """(METHOD, path, needs auth) of every operation in docs/openapi.yaml."""
    with open(os.path.join(REPO, "docs", "openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    default = doc.get("security")
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            sec = op.get("security", default)
            out.append((method.upper(), path, bool(sec)))
    return out


ALL_ROUTES = openapi_routes()
AUTH_ROUTES = [(m, p) for m, p, auth in ALL_ROUTES if auth]

# Plausible bodies, so that a route that skipped authentication would do real harm.
BODIES = {
    ("POST", "/v1/credentials"): {"name": "intruder", "permission": "admin-read-write"},
    ("PATCH", "/v1/credentials/{id}"): {"status": "disabled"},
    ("POST", "/v1/credentials/{id}/rotate"): {},
    ("POST", "/v1/temporary-credentials"): {"ttl_seconds": 900},
    ("POST", "/v1/buckets"): {"name": "intruder-bucket"},
    ("PATCH", "/v1/buckets/{name}"): {"quota": {"max_bytes": 1}},
}

BAD_AUTH = ["none", "no-space", "empty", "spaces", "basic", "bare-token", "lower-bearer-garbage",
            "unknown", "truncated", "extended", "too-long", "s3-secret", "access-key",
            "revoked", "disabled", "expired", "not-yet-valid", "rotated-away",
            "revoked-parent", "temporary-session-token"]


def test_only_health_is_open():
    open_routes = [(m, p) for m, p, auth in ALL_ROUTES if not auth]
    assert open_routes == [("GET", "/v1/health")], open_routes


def test_every_served_route_is_checked():
    # The routes checked below come from the document; the server serves exactly those
    # (and health), so a route added to either cannot escape the 401 checks.
    from admin_fixtures import cofferd_routes
    served = set(cofferd_routes()) - {("GET", "/v1/health")}
    assert served == set(AUTH_ROUTES), served ^ set(AUTH_ROUTES)
    assert len(AUTH_ROUTES) >= 14


@pytest.fixture(scope="module")
def auth_env(tmp_root, cofferd_bin):
    """A private admin server (its own failure counter: these are many failures) with a
    victim credential and bucket that the path parameters name, and every kind of dead or
    wrong token."""
    import tempfile
    from admin_fixtures import new_admin_server, server_secrets
    from conftest import log_problems
    workdir = tempfile.mkdtemp(prefix="srv-auth401-", dir=tmp_root)
    srv = new_admin_server(workdir, args=["--auth-fail-limit", "0"])
    wait_admin(srv.start())
    api = AdminApi(srv, ROOT_TOKEN)
    victim = api.cred("admin-read-write", name="victim")
    api.expect(api.post("/v1/buckets", {"name": "victim-bucket"}), 201)
    tokens = {"none": None, "no-space": "Bearer", "empty": "Bearer ",
              "spaces": "Bearer      ", "basic": "Basic " + ROOT_TOKEN,
              "bare-token": ROOT_TOKEN, "lower-bearer-garbage": "bearer x",
              "unknown": "Bearer cft_" + "Q" * 43, "truncated": "Bearer " + ROOT_TOKEN[:-1],
              "extended": "Bearer " + ROOT_TOKEN + "x", "too-long": "Bearer " + "A" * 600,
              "s3-secret": "Bearer " + victim.secret, "access-key": "Bearer " + victim.id}
    dead = api.cred("admin-read-write", name="revoked")
    api.revoke(dead.id)
    tokens["revoked"] = "Bearer " + dead.token
    dis = api.cred("admin-read-write", name="disabled")
    api.set_status(dis.id, "disabled")
    tokens["disabled"] = "Bearer " + dis.token
    soon = rfc3339(utcnow() + __import__("datetime").timedelta(seconds=2))
    exp = api.cred("admin-read-write", name="expired", expires_at=soon)
    tokens["expired"] = "Bearer " + exp.token
    later = rfc3339(utcnow() + __import__("datetime").timedelta(days=1))
    nyv = api.cred("admin-read-write", name="not-yet-valid", not_before=later)
    tokens["not-yet-valid"] = "Bearer " + nyv.token
    rot = api.cred("admin-read-write", name="rotated")
    api.rotate(rot.id)
    tokens["rotated-away"] = "Bearer " + rot.token
    parent = api.cred("admin-read-write", name="parent")
    child = parent.api().create_cred("child", permission="admin-read-write")
    api.set_status(parent.id, "disabled")
    tokens["revoked-parent"] = "Bearer " + child.token
    temp = api.temp(ttl_seconds=900)
    tokens["temporary-session-token"] = "Bearer " + temp["session_token"]
    assert set(tokens) == set(BAD_AUTH)
    sleep_past(soon)
    counts = (len(api.get("/v1/credentials").json["credentials"]),
              len(api.get("/v1/buckets").json["buckets"]))
    yield srv, api, victim, tokens, counts
    srv.stop()
    problems = srv.problems + log_problems(srv.all_stderr(), server_secrets(srv))
    from conftest import _rmtree
    _rmtree(workdir)
    assert not problems, "\n".join(problems)


def concrete(path, victim):
    return path.replace("{id}", victim.id).replace("{name}", "victim-bucket")


@pytest.mark.parametrize("auth", BAD_AUTH)
@pytest.mark.parametrize("method,path", AUTH_ROUTES, ids=["%s %s" % r for r in AUTH_ROUTES])
def test_admin_route_refuses_bad_token(auth_env, method, path, auth):
    srv, api, victim, tokens, _ = auth_env
    h = {} if tokens[auth] is None else {"Authorization": tokens[auth]}
    body = BODIES.get((method, path), {} if method in ("POST", "PATCH") else None)
    r = AdminApi(srv, None).request(method, concrete(path, victim), body=body, headers=h)
    assert r.status == 401, r
    assert r.code == "unauthorized" and r.error.get("message"), r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    assert "Bearer" in r.headers.get("WWW-Authenticate", ""), r.headers


def test_admin_401s_changed_nothing(auth_env):
    srv, api, victim, tokens, counts = auth_env
    r = api.get("/v1/credentials/" + victim.id)
    assert r.status == 200 and r.json["status"] == "active", r
    assert r.json["name"] == "victim"
    c = s3_client(srv, victim.id, victim.secret)
    assert "Buckets" in c.list_buckets()  # the secret was not rotated
    r = api.get("/v1/buckets/victim-bucket")
    assert r.status == 200 and r.json["quota"].get("max_bytes") is None, r
    assert (len(api.get("/v1/credentials").json["credentials"]),
            len(api.get("/v1/buckets").json["buckets"])) == counts
    # Each refusal was logged with its address, never with the token it carried.
    log = srv.stderr()
    assert "admin: authentication failed from 127.0.0.1" in log
    for name, t in tokens.items():
        tok = (t or "").split(" ", 1)[-1].strip()
        if name == "access-key":
            continue  # an access key id is not a secret: access lines name it
        if len(tok) >= 16:
            assert tok not in log


# ---------------------------------------------------------------- failed-auth lockout

LIMIT = 5
LOCKOUT_S = 8


def lockout_lines(srv, addr):
    return [l for l in srv.stderr().splitlines()
            if "auth: %s locked out" % addr in l]


def wait_unlocked(fn, timeout=120):
    """Polls fn() (a request from the locked address) until it is not refused; the refusals
    on the way do not count as failures."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r.status not in (503, 429) or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def test_lockout_after_failed_signatures(start_admin_server):
    srv = start_admin_server(args=["--auth-fail-limit", str(LIMIT),
                                   "--auth-fail-lockout", str(LOCKOUT_S)])
    wait_admin(srv)
    api = AdminApi(srv, ROOT_TOKEN)
    bucket = "lockout"
    assert signed_from("127.0.0.1", srv, "PUT", "/" + bucket).status == 200
    assert signed_from("127.0.0.1", srv, "PUT", "/%s/k" % bucket, body=b"data").status == 200
    bad = "wrong" + ROOT_SK[5:]
    for i in range(LIMIT):
        r = signed_from("127.0.0.1", srv, "GET", "/%s/k" % bucket, secret=bad)
        assert r.status == 403 and r.code == "SignatureDoesNotMatch", (i, r)
    # Locked out: even a valid signature is refused, before any signature work.
    r = signed_from("127.0.0.1", srv, "GET", "/%s/k" % bucket)
    assert r.status == 503 and r.code == "SlowDown", r
    assert b"failed authentications" in r.body
    assert 1 <= int(r.headers["Retry-After"]) <= LOCKOUT_S, r.headers
    r = signed_from("127.0.0.1", srv, "HEAD", "/%s/k" % bucket)
    assert r.status == 503 and r.headers.get("Retry-After"), r
    # The admin listener refuses the address too (but health stays open).
    r = admin_from("127.0.0.1", srv, "GET", "/v1/credentials/self", ROOT_TOKEN)
    assert r.status == 429 and r.json["error"]["code"] == "too_many_requests", r
    assert int(r.headers["Retry-After"]) >= 1
    assert admin_from("127.0.0.1", srv, "GET", "/v1/health").status == 200
    # Valid clients elsewhere are unaffected, on both listeners.
    r = signed_from("127.0.0.2", srv, "GET", "/%s/k" % bucket)
    assert r.status == 200 and r.body == b"data", r
    r = admin_from("127.0.0.2", srv, "GET", "/v1/credentials/self", ROOT_TOKEN)
    assert r.status == 200 and r.json["id"] == ROOT_AK, r
    # Logged once, with the address and count, and nothing secret.
    lines = lockout_lines(srv, "127.0.0.1")
    assert len(lines) == 1 and " WARN " in lines[0], lines
    assert "after %d failed" % LIMIT in lines[0] and "locked out for %d s" % LOCKOUT_S in lines[0]
    for l in srv.stderr().splitlines():
        assert "Signature=" not in l and ROOT_SK not in l and bad not in l
    # After the lockout the address works again.
    r = wait_unlocked(lambda: signed_from("127.0.0.1", srv, "GET", "/%s/k" % bucket))
    assert r.status == 200 and r.body == b"data", r
    assert api.get("/v1/credentials/self").status == 200
    # Still over the limit in this window: the next failure locks it again, for twice as
    # long, and is logged again.
    r = signed_from("127.0.0.1", srv, "GET", "/%s/k" % bucket, secret=bad)
    assert r.status == 403, r
    r = signed_from("127.0.0.1", srv, "GET", "/%s/k" % bucket)
    assert r.status == 503 and LOCKOUT_S < int(r.headers["Retry-After"]) <= 2 * LOCKOUT_S, r
    lines = lockout_lines(srv, "127.0.0.1")
    assert len(lines) == 2 and "locked out for %d s" % (2 * LOCKOUT_S) in lines[1], lines
    assert signed_from("127.0.0.2", srv, "GET", "/%s/k" % bucket).status == 200


def test_lockout_after_failed_bearer_tokens(start_admin_server):
    srv = start_admin_server(args=["--auth-fail-limit", str(LIMIT),
                                   "--auth-fail-lockout", "600"])
    wait_admin(srv)
    me = "127.0.0.3"
    for i in range(LIMIT):
        r = admin_from(me, srv, "GET", "/v1/credentials", "cft_" + "Z" * 43)
        assert r.status == 401, (i, r)
    r = admin_from(me, srv, "GET", "/v1/credentials", ROOT_TOKEN)
    assert r.status == 429 and 590 <= int(r.headers["Retry-After"]) <= 600, r
    # The lockout covers the address on the S3 listener too.
    r = signed_from(me, srv, "GET", "/")
    assert r.status == 503 and r.code == "SlowDown", r
    assert len(lockout_lines(srv, me)) == 1
    # Another address, and the root client on 127.0.0.1, are fine.
    assert admin_from("127.0.0.4", srv, "GET", "/v1/credentials", ROOT_TOKEN).status == 200
    assert AdminApi(srv, ROOT_TOKEN).get("/v1/credentials").status == 200
    srv.client().list_buckets()


def test_no_lockout_below_the_limit_or_when_off(start_admin_server):
    srv = start_admin_server(args=["--auth-fail-limit", "0"])
    for _ in range(30):
        assert signed_from("127.0.0.5", srv, "GET", "/", secret="x" * 40).status == 403
    assert signed_from("127.0.0.5", srv, "GET", "/").status == 200
    assert "locked out" not in srv.stderr()
    # Anonymous requests are not failed authentications.
    srv2 = start_admin_server(args=["--auth-fail-limit", "3"])
    for _ in range(10):
        r = send_from("127.0.0.6", srv2.port, "GET", "/",
                      {"host": "127.0.0.1:%d" % srv2.port})
        assert r.status == 403 and r.code == "AccessDenied", r
    assert signed_from("127.0.0.6", srv2, "GET", "/").status == 200


def test_lockout_flags_validated(cofferd_bin, workdir):
    import subprocess
    for flag, bad in (("--auth-fail-limit", "-1"), ("--auth-fail-limit", "x"),
                      ("--auth-fail-lockout", "0"), ("--auth-fail-lockout", "86401")):
        p = subprocess.run([cofferd_bin, flag, bad, "--data", workdir], capture_output=True,
                           timeout=30)
        assert p.returncode == 2 and flag[2:].encode() in p.stderr, (flag, bad, p.stderr)
    p = subprocess.run([cofferd_bin, "--help"], capture_output=True, timeout=30)
    assert b"--auth-fail-limit N" in p.stdout and b"COFFER_AUTH_FAIL_LIMIT, default 500" in p.stdout
    assert b"--auth-fail-lockout SECONDS" in p.stdout
