"""CopyObject: same and cross bucket, metadata directive, copy-source conditions."""
import datetime

import pytest
from botocore.exceptions import ClientError

from s3util import det_bytes, md5_hex, obj_path, parse_xml, uri_encode


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def src(s3, bucket):
    data = det_bytes("copy-src", 300_000)
    s3.put_object(Bucket=bucket, Key="src", Body=data, ContentType="image/png",
                  CacheControl="no-cache", ContentDisposition="inline",
                  Metadata={"origin": "source", "n": "1"})
    head = s3.head_object(Bucket=bucket, Key="src")
    return {"bucket": bucket, "key": "src", "data": data, "head": head}


def test_copy_same_bucket_copies_metadata(s3, src):
    b = src["bucket"]
    r = s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % md5_hex(src["data"])
    assert r["CopyObjectResult"]["LastModified"]
    g = s3.get_object(Bucket=b, Key="dst")
    assert g["Body"].read() == src["data"]
    assert g["ContentType"] == "image/png"
    assert g["CacheControl"] == "no-cache"
    assert g["ContentDisposition"] == "inline"
    assert g["Metadata"] == {"origin": "source", "n": "1"}
    # The source is untouched.
    assert s3.get_object(Bucket=b, Key="src")["Body"].read() == src["data"]


def test_copy_cross_bucket(s3, src, bucket2):
    r = s3.copy_object(Bucket=bucket2, Key="x/y z", CopySource={"Bucket": src["bucket"],
                                                                "Key": "src"})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    g = s3.get_object(Bucket=bucket2, Key="x/y z")
    assert g["Body"].read() == src["data"]
    assert g["Metadata"] == {"origin": "source", "n": "1"}


def test_copy_metadata_directive_replace(s3, src):
    b = src["bucket"]
    s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="text/csv",
                   Metadata={"fresh": "yes"})
    g = s3.get_object(Bucket=b, Key="dst")
    assert g["Body"].read() == src["data"]
    assert g["ContentType"] == "text/csv"
    assert g["Metadata"] == {"fresh": "yes"}
    assert "CacheControl" not in g


def test_copy_metadata_directive_copy_ignores_new_metadata(s3, src):
    b = src["bucket"]
    s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"},
                   MetadataDirective="COPY", Metadata={"ignored": "yes"})
    assert s3.head_object(Bucket=b, Key="dst")["Metadata"] == {"origin": "source", "n": "1"}


def test_copy_onto_itself_needs_replace(s3, src):
    b = src["bucket"]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"})
    assert err(e) == ("InvalidRequest", 400)
    s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"updated": "1"})
    g = s3.get_object(Bucket=b, Key="src")
    assert g["Metadata"] == {"updated": "1"}
    assert g["Body"].read() == src["data"]


def test_copy_bad_metadata_directive(s3, src):
    b = src["bucket"]
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"},
                       MetadataDirective="MERGE")
    assert err(e) == ("InvalidArgument", 400)


def test_copy_odd_keys(s3, bucket):
    for i, key in enumerate(["ü ñ/ß+%.txt", "/lead", "a//b", "q?x#y"]):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        dst = "copy-%d" % i
        s3.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": key})
        assert s3.get_object(Bucket=bucket, Key=dst)["Body"].read() == key.encode()


def test_copy_source_header_forms(raw, s3, bucket):
    # x-amz-copy-source with and without a leading slash, URL-encoded.
    s3.put_object(Bucket=bucket, Key="s p+c", Body=b"forms")
    for i, cs in enumerate(["/%s/%s" % (bucket, uri_encode("s p+c")),
                            "%s/%s" % (bucket, uri_encode("s p+c"))]):
        r = raw.request("PUT", obj_path(bucket, "f%d" % i), headers={"x-amz-copy-source": cs})
        assert r.status == 200, r
        res = parse_xml(r.body)
        assert res.tag == "CopyObjectResult"
        assert res.findtext("ETag") == '"%s"' % md5_hex(b"forms")
        assert s3.get_object(Bucket=bucket, Key="f%d" % i)["Body"].read() == b"forms"


def test_copy_missing_source(s3, bucket, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "nope"})
    assert err(e) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket_name, "Key": "k"})
    assert err(e) == ("NoSuchBucket", 404)


def test_copy_to_missing_bucket(s3, src, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket_name, Key="dst",
                       CopySource={"Bucket": src["bucket"], "Key": "src"})
    assert err(e) == ("NoSuchBucket", 404)


def _days(n):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=n)


COND_CASES = [
    # (name, kwargs builder, succeeds)
    ("if-match true", lambda h: {"CopySourceIfMatch": h["ETag"]}, True),
    ("if-match false", lambda h: {"CopySourceIfMatch": '"0123"'}, False),
    ("if-none-match true", lambda h: {"CopySourceIfNoneMatch": '"0123"'}, True),
    ("if-none-match false", lambda h: {"CopySourceIfNoneMatch": h["ETag"]}, False),
    ("if-modified-since true", lambda h: {"CopySourceIfModifiedSince": _days(-1)}, True),
    # Last-Modified itself: not modified since then (false) / unmodified since (true).
    ("if-modified-since false", lambda h: {"CopySourceIfModifiedSince": h["LastModified"]},
     False),
    ("if-unmodified-since true", lambda h: {"CopySourceIfUnmodifiedSince": h["LastModified"]},
     True),
    ("if-unmodified-since false", lambda h: {"CopySourceIfUnmodifiedSince": _days(-1)}, False),
    # S3's precedence: if-match true wins over if-unmodified-since false ...
    ("if-match true + if-unmodified-since false",
     lambda h: {"CopySourceIfMatch": h["ETag"], "CopySourceIfUnmodifiedSince": _days(-1)}, True),
    # ... and if-none-match false wins over if-modified-since true (412).
    ("if-none-match false + if-modified-since true",
     lambda h: {"CopySourceIfNoneMatch": h["ETag"], "CopySourceIfModifiedSince": _days(-1)},
     False),
]


@pytest.mark.parametrize("name,kw,ok", COND_CASES, ids=[c[0] for c in COND_CASES])
def test_copy_source_conditions(s3, src, name, kw, ok):
    b = src["bucket"]
    args = dict(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"}, **kw(src["head"]))
    if ok:
        s3.copy_object(**args)
        assert s3.get_object(Bucket=b, Key="dst")["Body"].read() == src["data"]
    else:
        with pytest.raises(ClientError) as e:
            s3.copy_object(**args)
        assert err(e) == ("PreconditionFailed", 412)
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket=b, Key="dst")
        assert err(e)[1] == 404


def _copy_with(s3, src, key, headers):
    from admin_fixtures import s3_call
    from s3util import call_with_headers
    return s3_call(lambda **kw: call_with_headers(s3, "copy_object", headers, **kw),
                   Bucket=src["bucket"], Key=key,
                   CopySource={"Bucket": src["bucket"], "Key": src["key"]})[:2]


def test_copy_destination_conditions(s3, src):
    """If-None-Match and If-Match on CopyObject name the destination, as on PutObject."""
    b = src["bucket"]
    s3.put_object(Bucket=b, Key="dest", Body=b"existing")
    dest_etag = s3.head_object(Bucket=b, Key="dest")["ETag"]
    assert _copy_with(s3, src, "dest", {"If-None-Match": "*"}) == (412, "PreconditionFailed")
    assert _copy_with(s3, src, "dest", {"If-Match": '"0123"'}) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=b, Key="dest")["Body"].read() == b"existing"
    assert _copy_with(s3, src, "dest", {"If-Match": dest_etag}) == (200, None)
    assert s3.get_object(Bucket=b, Key="dest")["Body"].read() == src["data"]
    assert _copy_with(s3, src, "fresh", {"If-Match": dest_etag}) == (412, "PreconditionFailed")
    assert _copy_with(s3, src, "fresh", {"If-None-Match": "*"}) == (200, None)
    assert s3.get_object(Bucket=b, Key="fresh")["Body"].read() == src["data"]
    assert _copy_with(s3, src, "other", {"If-None-Match": '"abc"'}) == \
        (501, "NotImplemented")
