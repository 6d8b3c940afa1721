"""GetObject/HeadObject: Range, conditional requests with S3's precedence, and the
response-* overrides."""
import datetime
import email.utils

import pytest

from s3util import det_bytes, obj_path

DATA = det_bytes("range", 1000)


@pytest.fixture
def obj(raw, bucket):
    r = raw.request("PUT", obj_path(bucket, "r"), body=DATA)
    assert r.status == 200, r
    h = raw.request("HEAD", obj_path(bucket, "r"))
    return {"path": obj_path(bucket, "r"), "etag": h.headers["ETag"],
            "lm": h.headers["Last-Modified"],
            "lm_dt": email.utils.parsedate_to_datetime(h.headers["Last-Modified"])}


@pytest.mark.parametrize("spec,start,end", [
    ("bytes=0-9", 0, 9),
    ("bytes=990-", 990, 999),
    ("bytes=-10", 990, 999),
    ("bytes=995-2000", 995, 999),
    ("bytes=-5000", 0, 999),
    ("bytes=0-0", 0, 0),
    ("bytes=999-999", 999, 999),
    ("bytes=0-999", 0, 999),
    ("bytes=123-456", 123, 456),
])
def test_range(raw, obj, spec, start, end):
    r = raw.request("GET", obj["path"], headers={"Range": spec})
    assert r.status == 206, r
    assert r.body == DATA[start:end + 1]
    assert r.headers["Content-Range"] == "bytes %d-%d/1000" % (start, end)
    assert int(r.headers["Content-Length"]) == end - start + 1
    assert r.headers["ETag"] == obj["etag"]
    h = raw.request("HEAD", obj["path"], headers={"Range": spec})
    assert h.status == 206, h
    assert h.headers["Content-Range"] == "bytes %d-%d/1000" % (start, end)
    assert int(h.headers["Content-Length"]) == end - start + 1


@pytest.mark.parametrize("spec", ["bytes=1000-", "bytes=1000-1001", "bytes=5000-6000"])
def test_range_not_satisfiable(raw, obj, spec):
    r = raw.request("GET", obj["path"], headers={"Range": spec})
    assert r.status == 416, r
    assert r.code == "InvalidRange", r
    assert r.headers["Content-Range"] == "bytes */1000"
    assert r.headers.get("x-amz-request-id")


def test_range_on_empty_object(raw, bucket):
    raw.request("PUT", obj_path(bucket, "empty"), body=b"")
    r = raw.request("GET", obj_path(bucket, "empty"), headers={"Range": "bytes=0-"})
    assert r.status == 416, r
    assert r.headers["Content-Range"] == "bytes */0"


def test_range_with_boto3(s3, bucket):
    s3.put_object(Bucket=bucket, Key="b", Body=DATA)
    g = s3.get_object(Bucket=bucket, Key="b", Range="bytes=10-19")
    assert g["Body"].read() == DATA[10:20]
    assert g["ContentRange"] == "bytes 10-19/1000"
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_full_get_advertises_ranges(raw, obj):
    r = raw.request("GET", obj["path"])
    assert r.status == 200
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert "Content-Range" not in r.headers


def _http_date(dt):
    return email.utils.format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)


def _before(o):
    return _http_date(o["lm_dt"] - datetime.timedelta(days=1))


CASES = [
    ("if-match true", lambda o: {"If-Match": o["etag"]}, 200),
    ("if-match false", lambda o: {"If-Match": '"00000000000000000000000000000000"'}, 412),
    ("if-none-match true", lambda o: {"If-None-Match": '"00000000000000000000000000000000"'},
     200),
    ("if-none-match false", lambda o: {"If-None-Match": o["etag"]}, 304),
    ("if-modified-since true", lambda o: {"If-Modified-Since": _before(o)}, 200),
    ("if-modified-since false", lambda o: {"If-Modified-Since": o["lm"]}, 304),
    ("if-unmodified-since true", lambda o: {"If-Unmodified-Since": o["lm"]}, 200),
    ("if-unmodified-since false", lambda o: {"If-Unmodified-Since": _before(o)}, 412),
    # S3's precedence rules:
    ("if-match true + if-unmodified-since false",
     lambda o: {"If-Match": o["etag"], "If-Unmodified-Since": _before(o)}, 200),
    ("if-none-match false + if-modified-since true",
     lambda o: {"If-None-Match": o["etag"], "If-Modified-Since": _before(o)}, 304),
    ("if-match false + if-none-match true",
     lambda o: {"If-Match": '"00000000000000000000000000000000"',
                "If-None-Match": '"00000000000000000000000000000001"'}, 412),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("name,headers,status", CASES, ids=[c[0] for c in CASES])
def test_conditional(raw, obj, method, name, headers, status):
    r = raw.request(method, obj["path"], headers=headers(obj))
    assert r.status == status, r
    assert r.headers.get("x-amz-request-id")
    if status == 200:
        assert r.body == (DATA if method == "GET" else b"")
    elif status == 304:
        assert r.body == b""
        assert r.headers.get("ETag") == obj["etag"]
    elif method == "GET":
        assert r.code == "PreconditionFailed", r


def test_conditional_with_range(raw, obj):
    r = raw.request("GET", obj["path"], headers={"If-Match": obj["etag"], "Range": "bytes=0-3"})
    assert r.status == 206, r
    assert r.body == DATA[:4]
    r = raw.request("GET", obj["path"], headers={"If-Match": '"x"', "Range": "bytes=0-3"})
    assert r.status == 412, r


def test_conditional_with_boto3(s3, bucket):
    from botocore.exceptions import ClientError
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"abc"')
    assert e.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"override me", ContentType="text/plain",
                  CacheControl="no-store")
    expires = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    g = s3.get_object(Bucket=bucket, Key="o",
                      ResponseContentType="application/json",
                      ResponseContentLanguage="fr",
                      ResponseExpires=expires,
                      ResponseCacheControl="max-age=60",
                      ResponseContentDisposition='attachment; filename="r.json"',
                      ResponseContentEncoding="identity")
    assert g["Body"].read() == b"override me"
    assert g["ContentType"] == "application/json"
    assert g["ContentLanguage"] == "fr"
    assert g["Expires"] == expires
    assert g["CacheControl"] == "max-age=60"
    assert g["ContentDisposition"] == 'attachment; filename="r.json"'
    assert g["ContentEncoding"] == "identity"
    # Overrides change only that response.
    h = s3.head_object(Bucket=bucket, Key="o")
    assert h["ContentType"] == "text/plain"
    assert h["CacheControl"] == "no-store"


def test_response_override_on_anonymous_request_denied(raw, obj):
    r = raw.unsigned("GET", obj["path"], query=[("response-content-type", "text/html")])
    assert r.status in (400, 403), r
    assert r.code in ("InvalidRequest", "AccessDenied"), r
