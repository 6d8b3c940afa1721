"""Objects: PutObject, GetObject, HeadObject, DeleteObject; stored headers, metadata,
Content-MD5, ETag; and the S3 error document and request ids."""
import datetime
import email.utils

import pytest
from botocore.exceptions import ClientError

from s3util import det_bytes, md5_b64, md5_hex, obj_path, parse_xml


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_head_delete(s3, bucket):
    data = det_bytes("put-get", 100_000)
    r = s3.put_object(Bucket=bucket, Key="obj", Body=data)
    assert r["ETag"] == '"%s"' % md5_hex(data)
    g = s3.get_object(Bucket=bucket, Key="obj")
    assert g["Body"].read() == data
    assert g["ETag"] == r["ETag"]
    assert g["ContentLength"] == len(data)
    h = s3.head_object(Bucket=bucket, Key="obj")
    assert h["ContentLength"] == len(data)
    assert h["ETag"] == r["ETag"]
    assert h["LastModified"] == g["LastModified"]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((h["LastModified"] - now).total_seconds()) < 3600
    d = s3.delete_object(Bucket=bucket, Key="obj")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="obj")
    assert err(e) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="obj")
    assert err(e)[1] == 404


def test_empty_object(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert r["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    g = s3.get_object(Bucket=bucket, Key="empty")
    assert g["Body"].read() == b""
    assert g["ContentLength"] == 0


def test_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first version", ContentType="text/plain",
                  Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["Body"].read() == b"second"
    assert g["Metadata"] == {}
    assert g["ContentType"] != "text/plain"


def test_default_content_type(raw, bucket):
    r = raw.request("PUT", obj_path(bucket, "noct"), body=b"x")
    assert r.status == 200, r
    g = raw.request("GET", obj_path(bucket, "noct"))
    assert g.headers.get("Content-Type") in ("binary/octet-stream", "application/octet-stream")


def test_delete_missing_key_is_204(s3, bucket):
    d = s3.delete_object(Bucket=bucket, Key="never-existed")
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_in_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket_name, Key="k")
    assert err(e) == ("NoSuchBucket", 404)


def test_get_put_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket_name, Key="k")
    assert err(e) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket_name, Key="k", Body=b"x")
    assert err(e) == ("NoSuchBucket", 404)


def test_stored_headers_round_trip(s3, raw, bucket):
    expires = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    meta = {"color": "blue", "multi-word": "Hello World", "num": "42"}
    s3.put_object(Bucket=bucket, Key="h", Body=b"data",
                  ContentType="text/plain; charset=utf-8",
                  ContentEncoding="gzip",
                  ContentDisposition='attachment; filename="f.txt"',
                  ContentLanguage="de-CH",
                  CacheControl="max-age=3600, public",
                  Expires=expires,
                  Metadata=meta)
    for op in (s3.get_object, s3.head_object):
        r = op(Bucket=bucket, Key="h")
        assert r["ContentType"] == "text/plain; charset=utf-8"
        assert r["ContentEncoding"] == "gzip"
        assert r["ContentDisposition"] == 'attachment; filename="f.txt"'
        assert r["ContentLanguage"] == "de-CH"
        assert r["CacheControl"] == "max-age=3600, public"
        assert r["Expires"] == expires
        assert r["Metadata"] == meta
        assert r["ContentLength"] == 4
    g = raw.request("GET", obj_path(bucket, "h"))
    assert g.status == 200
    assert g.body == b"data"  # stored as is; never re-encoded
    assert email.utils.parsedate_to_datetime(g.headers["Expires"]) == expires
    assert email.utils.parsedate_to_datetime(g.headers["Last-Modified"])
    assert g.headers["Last-Modified"].endswith("GMT")
    assert g.headers["x-amz-meta-multi-word"] == "Hello World"


def test_metadata_empty_value_kept(s3, bucket):
    # S3 keeps a user metadata entry whose value is empty.
    s3.put_object(Bucket=bucket, Key="e", Body=b"x", Metadata={"empty": "", "full": "1"})
    assert s3.head_object(Bucket=bucket, Key="e")["Metadata"] == {"empty": "", "full": "1"}


def test_metadata_names_are_case_insensitive(raw, bucket):
    r = raw.request("PUT", obj_path(bucket, "m"), headers={"X-Amz-Meta-CamelCase": "V"},
                    body=b"x")
    assert r.status == 200, r
    g = raw.request("HEAD", obj_path(bucket, "m"))
    assert g.headers.get("x-amz-meta-camelcase") == "V"


def test_metadata_limit(s3, bucket):
    ok = {"k": "v" * 1800}
    s3.put_object(Bucket=bucket, Key="ok", Body=b"x", Metadata=ok)
    assert s3.head_object(Bucket=bucket, Key="ok")["Metadata"] == ok
    many = {"key%02d" % i: "x" * 100 for i in range(18)}  # ~1.9 KB in 18 headers
    s3.put_object(Bucket=bucket, Key="many", Body=b"x", Metadata=many)
    assert s3.head_object(Bucket=bucket, Key="many")["Metadata"] == many


@pytest.mark.parametrize("meta", [
    {"k": "v" * 2100},
    {"key%02d" % i: "x" * 200 for i in range(12)},
])
def test_metadata_too_large(s3, bucket, meta):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x", Metadata=meta)
    assert err(e) == ("MetadataTooLarge", 400)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="big")
    assert err(e)[1] == 404


def test_content_md5_good(s3, bucket):
    data = b"checked body"
    r = s3.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=md5_b64(data))
    assert r["ETag"] == '"%s"' % md5_hex(data)


def test_content_md5_bad_stores_nothing(s3, bucket):
    s3.put_object(Bucket=bucket, Key="old", Body=b"old body")
    for key in ("new", "old"):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key=key, Body=b"the body",
                          ContentMD5=md5_b64(b"another body"))
        assert err(e) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="new")
    assert err(e)[1] == 404
    assert s3.get_object(Bucket=bucket, Key="old")["Body"].read() == b"old body"


@pytest.mark.parametrize("value", ["not base64!", "AAAA"])
def test_content_md5_malformed(raw, bucket, value):
    r = raw.request("PUT", obj_path(bucket, "bad"), headers={"Content-MD5": value}, body=b"x")
    assert r.status == 400, r
    assert r.code == "InvalidDigest", r
    assert raw.request("HEAD", obj_path(bucket, "bad")).status == 404


def test_put_without_content_length(raw, bucket):
    # Neither Content-Length nor chunked transfer encoding: S3 answers 411.
    h, _ = raw.prepare("PUT", obj_path(bucket, "nolen"), body=b"")
    h.pop("content-length", None)
    from s3util import http_send
    r = http_send(raw.port, "PUT", obj_path(bucket, "nolen"), h)
    assert r.status == 411, r
    assert r.code == "MissingContentLength"


def test_binary_body_all_byte_values(s3, bucket):
    data = bytes(range(256)) * 1000
    s3.put_object(Bucket=bucket, Key="bin", Body=data)
    assert s3.get_object(Bucket=bucket, Key="bin")["Body"].read() == data


def test_many_sizes(s3, bucket):
    for n in (1, 2, 8191, 8192, 8193, 65535, 65536, 65537, 1 << 20, (1 << 20) + 1):
        data = det_bytes("size-%d" % n, n)
        r = s3.put_object(Bucket=bucket, Key="s%d" % n, Body=data)
        assert r["ETag"] == '"%s"' % md5_hex(data)
        g = s3.get_object(Bucket=bucket, Key="s%d" % n)
        assert g["ContentLength"] == n
        assert g["Body"].read() == data


# ---------------------------------------------------------------- request ids and errors

def test_request_id_on_every_response(raw, bucket):
    p = obj_path(bucket, "rid")
    put = raw.request("PUT", p, body=b"0123456789")
    etag = put.headers["ETag"]
    responses = [
        put,                                                               # 200
        raw.request("GET", p),                                             # 200
        raw.request("HEAD", p),                                            # 200
        raw.request("GET", p, headers={"Range": "bytes=0-1"}),             # 206
        raw.request("GET", p, headers={"Range": "bytes=50-60"}),           # 416
        raw.request("GET", p, headers={"If-None-Match": etag}),            # 304
        raw.request("GET", p, headers={"If-Match": '"nope"'}),             # 412
        raw.request("GET", obj_path(bucket, "missing")),                   # 404 with body
        raw.request("HEAD", obj_path(bucket, "missing")),                  # 404 without body
        raw.request("GET", obj_path(bucket + "-missing", "k")),            # NoSuchBucket
        raw.unsigned("GET", p),                                            # 403 anonymous
        raw.request("GET", "/"),                                           # ListBuckets
        raw.request("DELETE", p),                                          # 204
        raw.request("GET", p, query=[("torrent", None)]),                  # 501
    ]
    ids = set()
    for r in responses:
        rid = r.headers.get("x-amz-request-id")
        assert rid, r
        ids.add(rid)
    assert len(ids) == len(responses), "request ids must be unique"


def test_error_document(raw, bucket):
    r = raw.request("GET", obj_path(bucket, "no/such key"))
    assert r.status == 404
    assert r.headers.get("Content-Type", "").startswith("application/xml")
    root = parse_xml(r.body)
    assert root.tag == "Error"
    fields = {c.tag: c.text for c in root}
    assert fields["Code"] == "NoSuchKey"
    assert fields["Message"]
    assert fields["RequestId"] == r.headers["x-amz-request-id"]
    assert fields.get("Resource") in ("/%s/no/such key" % bucket,
                                      "/%s/no/such%%20key" % bucket), fields


def test_error_document_no_such_bucket(raw, bucket_name):
    r = raw.request("GET", "/" + bucket_name)
    assert r.status == 404
    e = r.error
    assert e["Code"] == "NoSuchBucket"
    assert e["Message"]
    assert e["RequestId"] == r.headers["x-amz-request-id"]
    assert e.get("Resource") == "/" + bucket_name
    assert e.get("BucketName", bucket_name) == bucket_name


def test_head_error_has_no_body(raw, bucket):
    r = raw.request("HEAD", obj_path(bucket, "missing"))
    assert r.status == 404
    assert r.body == b""
    assert r.headers.get("x-amz-request-id")


@pytest.mark.parametrize("method,target,query", [
    ("GET", "obj", [("torrent", None)]),
    ("PUT", "bucket", [("replication", None)]),
    ("GET", "bucket", [("inventory", None), ("id", "x")]),
    ("PUT", "bucket", [("intelligent-tiering", None), ("id", "x")]),
    ("GET", "bucket", [("analytics", None), ("id", "x")]),
])
def test_not_implemented(raw, bucket, method, target, query):
    raw.request("PUT", obj_path(bucket, "obj"), body=b"x")
    path = obj_path(bucket, "obj") if target == "obj" else obj_path(bucket)
    body = b"<ReplicationConfiguration/>" if method == "PUT" else b""
    r = raw.request(method, path, query=query, body=body)
    assert r.status == 501, r
    assert r.code == "NotImplemented", r
    assert r.error.get("RequestId") == r.headers.get("x-amz-request-id")


def test_method_not_allowed(raw, bucket):
    r = raw.request("PATCH", obj_path(bucket, "obj"), body=b"")
    assert r.status in (405, 501), r
    assert r.code in ("MethodNotAllowed", "NotImplemented"), r


def test_server_survives_garbage(server, raw, bucket):
    from s3util import http_send
    for target, headers in [
        ("/%s/%%zz" % bucket, {"Host": raw.host}),
        ("/" + "a" * 9000, {"Host": raw.host}),
        ("/%s/k" % bucket, {"Host": raw.host, "Authorization": "AWS4-HMAC-SHA256 garbage"}),
        ("/%s/k" % bucket, {"Host": raw.host, "Authorization": "AWS4-HMAC-SHA256 Credential=a/b"}),
        ("/%s/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x" % bucket,
         {"Host": raw.host}),
        ("/%s/k" % bucket, {"Host": raw.host, "Range": "bytes=" + "9" * 40 + "-"}),
    ]:
        r = http_send(raw.port, "GET", target, headers)
        assert 400 <= r.status < 500, (target, r)
    assert server.alive()
    assert raw.request("GET", "/").status == 200


def test_error_document_is_well_formed_with_non_utf8_input(raw, bucket):
    # A header byte that is not UTF-8 (0xFF on the wire) makes the signature differ; the
    # SignatureDoesNotMatch document that echoes the canonical request must still be
    # well-formed XML (UTF-8), or clients cannot read its error code.
    path = obj_path(bucket, "k")
    h, _ = raw.prepare("GET", path, headers={"x-amz-meta-odd": "\u00ff"})
    r = raw.send("GET", path, headers=h)
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch", r
