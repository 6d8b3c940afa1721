"""Object and bucket tagging through boto3 and hand-signed requests: Put/Get/DeleteObjectTagging,
x-amz-tagging on PutObject, presigned PUTs and CopyObject (x-amz-tagging-directive),
x-amz-tagging-count on GET/HEAD, Put/Get/DeleteBucketTagging; S3's limits (10 / 50 tags,
128 / 256 UTF-16 units, unique keys, allowed characters, aws: prefix) and their errors; the
IAM actions."""
import pytest
import requests
from botocore.exceptions import ClientError

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_outcome  # noqa: E402
from s3util import md5_b64, obj_path, presign_query, wire_query  # noqa: E402


def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message"))
    return (200, None, None)


def tagset(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


def tags_of(s3, bucket, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def tag_count(s3, bucket, key):
    h = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-tagging" not in h
    return int(h.get("x-amz-tagging-count", "0"))


def tagging_xml(pairs):
    from xml.sax.saxutils import escape
    return ("<Tagging><TagSet>%s</TagSet></Tagging>" % "".join(
        "<Tag><Key>%s</Key><Value>%s</Value></Tag>" % (escape(k), escape(v))
        for k, v in pairs)).encode("utf-8")


# ---------------------------------------------------------------- object tagging

def test_object_tagging_roundtrip(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentType="text/plain",
                  Metadata={"m": "v"})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert tag_count(s3, bucket, "k") == 0
    r = s3.put_object_tagging(Bucket=bucket, Key="k",
                              Tagging={"TagSet": tagset({"b": "2", "a": "1 one"})})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    # Given back in key order.
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == \
        tagset({"a": "1 one", "b": "2"})
    assert tag_count(s3, bucket, "k") == 2
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["TagCount"] == 2
    assert got["Body"].read() == b"data"
    # Body, metadata and ETag are untouched.
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"m": "v"}
    # Replace, then delete.
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tagset({"z": ""})})
    assert tags_of(s3, bucket, "k") == {"z": ""}
    r = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "k") == {}
    assert tag_count(s3, bucket, "k") == 0
    assert s3.get_object(Bucket=bucket, Key="k")["Metadata"] == {"m": "v"}


def test_empty_tagset_removes_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})
    assert tags_of(s3, bucket, "k") == {}


def test_limits_accepted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    tags = {"k%02d-%s" % (i, "x" * 120): "v" * 256 for i in range(10)}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tagset(tags)})
    assert tags_of(s3, bucket, "k") == tags
    # UTF-16 units: 127 BMP characters and one outside it is 129 units; 126 + one is 128.
    wide = "é" * 126 + "😀"
    s3.put_object_tagging(Bucket=bucket, Key="k",
                          Tagging={"TagSet": tagset({wide: "ü" * 254 + "😀",
                                                     "all allowed _.:/=+-@ 9": "ok"})})
    assert tags_of(s3, bucket, "k") == {wide: "ü" * 254 + "😀", "all allowed _.:/=+-@ 9": "ok"}


@pytest.mark.parametrize("tags,code,message", [
    ({"k%d" % i: "v" for i in range(11)}, "BadRequest", "Object tags cannot be greater than 10"),
    ({"k" * 129: "v"}, "InvalidTag", "The TagKey you have provided is too long, max 128"),
    ({"é" * 127 + "😀": "v"}, "InvalidTag", "The TagKey you have provided is too long, max 128"),
    ({"k": "v" * 257}, "InvalidTag", "The TagValue you have provided is too long, max 256"),
    ({"a&b": "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
    ({"k": "v,w"}, "InvalidTag", "The TagValue you have provided is invalid"),
    ({"aws:k": "v"}, "InvalidTag", "Your TagKey cannot be prefixed with aws:"),
])
def test_object_tagging_refused(s3, bucket, tags, code, message):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="keep=1")
    assert error_of(s3.put_object_tagging, Bucket=bucket, Key="k",
                    Tagging={"TagSet": tagset(tags)}) == (400, code, message)
    assert tags_of(s3, bucket, "k") == {"keep": "1"}


def test_duplicate_keys_and_bad_documents(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    path = obj_path(bucket, "k")
    for body, code in [
        (tagging_xml([("a", "1"), ("a", "2")]), "InvalidTag"),
        (tagging_xml([("", "1")]), "InvalidTag"),
        (b"<Tagging/>", "MalformedXML"),
        (b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", "MalformedXML"),
        (b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><X/></Tag></TagSet></Tagging>",
         "MalformedXML"),
        (b"<Tagging><TagSet><Other/></TagSet></Tagging>", "MalformedXML"),
        (b"<NotTagging><TagSet/></NotTagging>", "MalformedXML"),
        (b"<Tagging><TagSet>", "MalformedXML"),
    ]:
        r = raw.request("PUT", path, query=[("tagging", "")], body=body,
                        headers={"content-md5": md5_b64(body)})
        assert (r.status, r.code) == (400, code), (body, r)
    # Spaces inside keys and values are kept; a namespace is fine.
    body = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag>'
            b"<Key> sp </Key><Value> v </Value></Tag></TagSet></Tagging>")
    r = raw.request("PUT", path, query=[("tagging", "")], body=body)
    assert r.status == 200, r
    assert tags_of(s3, bucket, "k") == {" sp ": " v "}


def test_object_tagging_missing_object(s3, bucket, bucket_name):
    ts = {"TagSet": tagset({"a": "1"})}
    assert error_of(s3.put_object_tagging, Bucket=bucket, Key="nope", Tagging=ts)[:2] == \
        (404, "NoSuchKey")
    assert error_of(s3.get_object_tagging, Bucket=bucket, Key="nope")[:2] == (404, "NoSuchKey")
    assert error_of(s3.delete_object_tagging, Bucket=bucket, Key="nope")[:2] == \
        (404, "NoSuchKey")
    assert error_of(s3.get_object_tagging, Bucket=bucket_name, Key="k")[:2] == \
        (404, "NoSuchBucket")
    assert error_of(s3.put_object_tagging, Bucket=bucket_name, Key="k", Tagging=ts)[:2] == \
        (404, "NoSuchBucket")


def test_overwrite_drops_tags(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert tags_of(s3, bucket, "k") == {}


# ---------------------------------------------------------------- the header

@pytest.mark.parametrize("header,want", [
    ("a=1&b=2", {"a": "1", "b": "2"}),
    ("foo=bar&bar", {"foo": "bar", "bar": ""}),
    ("sp%20ace=v+plus&enc=%2B%40%3D", {"sp ace": "v plus", "enc": "+@="}),
    ("uni=%C3%BC%F0%9F%98%80", {"uni": "ü😀"}),
    ("", {}),
    ("a=1&&b=2", {"a": "1", "b": "2"}),
])
def test_tagging_header_on_put(s3, bucket, header, want):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging=header)
    assert tags_of(s3, bucket, "k") == want
    assert tag_count(s3, bucket, "k") == len(want)


@pytest.mark.parametrize("header,code", [
    ("TagSet=[{Key=string,Value=string}]", "InvalidArgument"),
    ("a=1&a=2", "InvalidArgument"),
    ("a=%ZZ", "InvalidArgument"),
    ("a=%4", "InvalidArgument"),
    ("&".join("k%d=v" % i for i in range(11)), "BadRequest"),
    ("TagSet%3D%5B%7BKey%3Dstring%2CValue%3Dstring%7D%5D", "InvalidTag"),
    ("k=" + "v" * 257, "InvalidTag"),
    ("aws%3Ax=1", "InvalidTag"),
])
def test_tagging_header_refused(raw, s3, bucket, header, code):
    r = raw.request("PUT", obj_path(bucket, "k"), headers={"x-amz-tagging": header}, body=b"x")
    assert (r.status, r.code) == (400, code), r
    assert error_of(s3.head_object, Bucket=bucket, Key="k")[0] == 404


def test_presigned_put_with_tagging(s3, server, bucket):
    # boto3 signs the header: the browser or client must send it as signed.
    url = s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "pre", "Tagging": "a=1&b=two"})
    r = requests.put(url, data=b"body", headers={"x-amz-tagging": "a=1&b=two"}, timeout=30)
    assert r.status_code == 200, r.text
    assert tags_of(s3, bucket, "pre") == {"a": "1", "b": "two"}
    # Other presigners hoist it into the query string, which S3 honours too.
    path = obj_path(bucket, "hoisted")
    q = presign_query("PUT", path, [("x-amz-tagging", "c=3&d=four")],
                      "127.0.0.1:%d" % server.port, server.access_key, server.secret)
    r = requests.put(server.endpoint + path + "?" + wire_query(q), data=b"body", timeout=30)
    assert r.status_code == 200, r.text
    assert tags_of(s3, bucket, "hoisted") == {"c": "3", "d": "four"}


def test_tagging_header_on_multipart(s3, bucket):
    try:
        up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="m=1&n=2")
    except ClientError as e:
        pytest.skip("multipart uploads are not available: %s" % e)
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1,
                          Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert tags_of(s3, bucket, "mp") == {"m": "1", "n": "2"}
    assert s3.get_object(Bucket=bucket, Key="mp")["TagCount"] == 2


# ---------------------------------------------------------------- copy

def test_copy_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1&b=2", Metadata={"m": "1"})
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=src)
    assert tags_of(s3, bucket, "copy") == {"a": "1", "b": "2"}
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource=src, TaggingDirective="COPY",
                   Tagging="ignored=1")
    assert tags_of(s3, bucket, "copy2") == {"a": "1", "b": "2"}
    s3.copy_object(Bucket=bucket, Key="repl", CopySource=src, TaggingDirective="REPLACE",
                   Tagging="c=3")
    assert tags_of(s3, bucket, "repl") == {"c": "3"}
    assert s3.get_object(Bucket=bucket, Key="repl")["Metadata"] == {"m": "1"}
    s3.copy_object(Bucket=bucket, Key="none", CopySource=src, TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "none") == {}
    # With the metadata replaced too, the tags still follow the tagging directive.
    s3.copy_object(Bucket=bucket, Key="both", CopySource=src, MetadataDirective="REPLACE",
                   Metadata={"n": "2"}, Tagging="d=4")
    assert tags_of(s3, bucket, "both") == {"a": "1", "b": "2"}
    assert s3.get_object(Bucket=bucket, Key="both")["Metadata"] == {"n": "2"}
    s3.copy_object(Bucket=bucket, Key="both2", CopySource=src, MetadataDirective="REPLACE",
                   TaggingDirective="REPLACE", Tagging="d=4")
    assert tags_of(s3, bucket, "both2") == {"d": "4"}
    # In place, replacing metadata and tags.
    s3.copy_object(Bucket=bucket, Key="src", CopySource=src, MetadataDirective="REPLACE",
                   TaggingDirective="REPLACE", Tagging="e=5")
    assert tags_of(s3, bucket, "src") == {"e": "5"}


def test_copy_tagging_refused(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    src = "/%s/src" % bucket
    r = raw.request("PUT", obj_path(bucket, "dst"),
                    headers={"x-amz-copy-source": src, "x-amz-tagging-directive": "MERGE"})
    assert (r.status, r.code) == (400, "InvalidArgument"), r
    r = raw.request("PUT", obj_path(bucket, "dst"),
                    headers={"x-amz-copy-source": src, "x-amz-tagging-directive": "REPLACE",
                             "x-amz-tagging": "a=1&a=2"})
    assert (r.status, r.code) == (400, "InvalidArgument"), r
    assert error_of(s3.head_object, Bucket=bucket, Key="dst")[0] == 404


# ---------------------------------------------------------------- bucket tagging

def test_bucket_tagging_roundtrip(s3, bucket):
    assert error_of(s3.get_bucket_tagging, Bucket=bucket) == \
        (404, "NoSuchTagSet", "The TagSet does not exist")
    tags = {"team": "storage", "cost center": "42", "e": ""}
    r = s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset(tags)})
    assert r["ResponseMetadata"]["HTTPStatusCode"] in (200, 204)
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == tags
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"only": "one"})})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tagset({"only": "one"})
    r = s3.delete_bucket_tagging(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(s3.get_bucket_tagging, Bucket=bucket)[:2] == (404, "NoSuchTagSet")
    assert s3.delete_bucket_tagging(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    # An empty set leaves none.
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"x": "1"})})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []})
    assert error_of(s3.get_bucket_tagging, Bucket=bucket)[:2] == (404, "NoSuchTagSet")


def test_bucket_tagging_limits(s3, raw, bucket):
    fifty = {"k%02d" % i: "v" for i in range(50)}
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset(fifty)})
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    for tags, code in [
        ({"k%02d" % i: "v" for i in range(51)}, "InvalidTag"),
        ({"k" * 129: "v"}, "InvalidTag"),
        ({"k": "v" * 257}, "InvalidTag"),
        ({"aws:cloudformation": "v"}, "InvalidTag"),
    ]:
        assert error_of(s3.put_bucket_tagging, Bucket=bucket,
                        Tagging={"TagSet": tagset(tags)})[:2] == (400, code), tags
    body = tagging_xml([("a", "1"), ("a", "2")])
    r = raw.request("PUT", obj_path(bucket), query=[("tagging", "")], body=body,
                    headers={"content-md5": md5_b64(body)})
    assert (r.status, r.code) == (400, "InvalidTag"), r
    # S3 requires an integrity header here.
    body = tagging_xml([("a", "1")])
    r = raw.request("PUT", obj_path(bucket), query=[("tagging", "")], body=body)
    assert (r.status, r.code) == (400, "InvalidRequest"), r
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50


def test_bucket_tagging_missing_bucket(s3, bucket_name):
    assert error_of(s3.get_bucket_tagging, Bucket=bucket_name)[:2] == (404, "NoSuchBucket")
    assert error_of(s3.put_bucket_tagging, Bucket=bucket_name,
                    Tagging={"TagSet": tagset({"a": "1"})})[:2] == (404, "NoSuchBucket")
    assert error_of(s3.delete_bucket_tagging, Bucket=bucket_name)[:2] == (404, "NoSuchBucket")


# ---------------------------------------------------------------- permissions

def test_tagging_actions_in_policies(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"x"})
    arn = "arn:aws:s3:::%s" % b
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging",
                                       "s3:GetBucketTagging"],
         "Resource": [arn, arn + "/*"]}]}
    c = root_api.create_cred("tag-reader", policy=policy)
    try:
        s3 = c.s3()
        root = admin_server.client()
        ts = {"TagSet": tagset({"a": "1"})}
        # A write with tags needs s3:PutObjectTagging too.
        assert s3_outcome(s3.put_object, Bucket=b, Key="t", Body=b"x", Tagging="a=1") == \
            (403, "AccessDenied")
        assert s3_outcome(s3.put_object, Bucket=b, Key="t", Body=b"x") == (200, None)
        assert s3_outcome(s3.put_object_tagging, Bucket=b, Key="k", Tagging=ts) == \
            (403, "AccessDenied")
        assert s3_outcome(s3.delete_object_tagging, Bucket=b, Key="k") == (403, "AccessDenied")
        root.put_object_tagging(Bucket=b, Key="k", Tagging=ts)
        assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == ts["TagSet"]
        assert s3_outcome(s3.put_bucket_tagging, Bucket=b, Tagging=ts) == (403, "AccessDenied")
        assert s3_outcome(s3.delete_bucket_tagging, Bucket=b) == (403, "AccessDenied")
        root.put_bucket_tagging(Bucket=b, Tagging=ts)
        assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == ts["TagSet"]
    finally:
        root_api.delete("/v1/credentials/" + c.id)
    writer = root_api.create_cred("tag-writer", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectTagging",
                                       "s3:DeleteObjectTagging", "s3:PutBucketTagging"],
         "Resource": [arn, arn + "/*"]}]})
    try:
        w = writer.s3()
        assert s3_outcome(w.put_object, Bucket=b, Key="t2", Body=b"x", Tagging="a=1") == \
            (200, None)
        assert s3_outcome(w.get_object_tagging, Bucket=b, Key="t2") == (403, "AccessDenied")
        assert s3_outcome(w.delete_object_tagging, Bucket=b, Key="t2") == (204, None)
        assert s3_outcome(w.delete_bucket_tagging, Bucket=b) == (204, None)
    finally:
        root_api.delete("/v1/credentials/" + writer.id)
