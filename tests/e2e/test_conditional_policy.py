"""Credential policies that require conditional writes: the condition keys s3:if-none-match,
s3:if-match and s3:ObjectCreationOperation, as S3 defines them for bucket policies. The
write-once credential (it may create objects, never overwrite or delete them) is the case
services ask for: a device that uploads its own data and must not be able to destroy it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_call  # noqa: E402
from s3util import call_with_headers  # noqa: E402


def arn(bucket, key="*"):
    return "arn:aws:s3:::%s/%s" % (bucket, key)


def put(s3, bucket, key, body, headers=None):
    return s3_call(lambda **kw: call_with_headers(s3, "put_object", headers or {}, **kw),
                   Bucket=bucket, Key=key, Body=body)[:2]


def write_once_policy(bucket):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [arn(bucket), "arn:aws:s3:::%s" % bucket]},
        # Writes only with If-None-Match: they cannot replace an object.
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": arn(bucket),
         "Condition": {"Null": {"s3:if-none-match": "false"}}},
        # The steps of a multipart upload take no conditional header; its completion does.
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": arn(bucket),
         "Condition": {"Bool": {"s3:ObjectCreationOperation": "false"}}}]}


def test_write_once_credential(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"old": b"keep me"})
    c = root_api.create_cred("write-once", policy=write_once_policy(b))
    s3 = c.s3()
    assert put(s3, b, "new", b"1") == (403, "AccessDenied")
    assert put(s3, b, "new", b"1", {"If-None-Match": "*"}) == (200, None)
    # It can neither overwrite (the condition holds in the write's transaction) nor delete.
    assert put(s3, b, "new", b"2", {"If-None-Match": "*"}) == (412, "PreconditionFailed")
    assert put(s3, b, "old", b"gone", {"If-None-Match": "*"}) == (412, "PreconditionFailed")
    assert put(s3, b, "old", b"gone", {"If-Match": '"whatever"'}) == (403, "AccessDenied")
    assert s3_call(s3.delete_object, Bucket=b, Key="old")[:2] == (403, "AccessDenied")
    assert s3_call(s3.copy_object, Bucket=b, Key="copy",
                   CopySource={"Bucket": b, "Key": "old"})[:2] == (403, "AccessDenied")

    def copy(key, headers):
        return s3_call(lambda **kw: call_with_headers(s3, "copy_object", headers, **kw),
                       Bucket=b, Key=key, CopySource={"Bucket": b, "Key": "old"})[:2]
    # A conditional copy is a conditional write: allowed, and it cannot overwrite either.
    assert copy("copy", {"If-None-Match": "*"}) == (200, None)
    assert copy("new", {"If-None-Match": "*"}) == (412, "PreconditionFailed")
    root = admin_server.client()
    assert root.get_object(Bucket=b, Key="old")["Body"].read() == b"keep me"
    assert root.get_object(Bucket=b, Key="new")["Body"].read() == b"1"

    # Multipart: the steps are allowed, the completion only with If-None-Match.
    uid = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1,
                          Body=b"p" * (5 << 20))["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    assert s3_call(s3.complete_multipart_upload, Bucket=b, Key="mp", UploadId=uid,
                   MultipartUpload=parts)[:2] == (403, "AccessDenied")
    r = s3_call(lambda **kw: call_with_headers(s3, "complete_multipart_upload",
                                               {"If-None-Match": "*"}, **kw),
                Bucket=b, Key="mp", UploadId=uid, MultipartUpload=parts)
    assert r[:2] == (200, None), r
    assert root.head_object(Bucket=b, Key="mp")["ContentLength"] == 5 << 20


def test_deny_unconditional_overwrites(admin_server, root_api, make_bucket):
    """The same rule as a Deny over broad rights: everything else keeps working."""
    b = make_bucket(objects={"a": b"a"})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": [arn(b), "arn:aws:s3:::%s" % b]},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": arn(b),
         "Condition": {"Null": {"s3:if-none-match": "true", "s3:if-match": "true"},
                       "Bool": {"s3:ObjectCreationOperation": "true"}}}]}
    s3 = root_api.create_cred("no-blind-writes", policy=policy).s3()
    assert put(s3, b, "a", b"blind") == (403, "AccessDenied")
    etag = s3.head_object(Bucket=b, Key="a")["ETag"]
    assert put(s3, b, "a", b"swapped", {"If-Match": etag}) == (200, None)
    assert put(s3, b, "a", b"again", {"If-Match": etag}) == (412, "PreconditionFailed")
    assert put(s3, b, "fresh", b"f", {"If-None-Match": "*"}) == (200, None)
    assert s3.get_object(Bucket=b, Key="a")["Body"].read() == b"swapped"
    assert s3_call(s3.delete_object, Bucket=b, Key="fresh")[0] == 204
    # An If-Match on a read does not count as a conditional write.
    assert s3.get_object(Bucket=b, Key="a", IfMatch=s3.head_object(Bucket=b, Key="a")["ETag"])


def test_deletes_must_be_conditional(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"a": b"a", "b": b"b", "c": b"c"})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [arn(b), "arn:aws:s3:::%s" % b]},
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": arn(b),
         "Condition": {"Null": {"s3:if-match": "false"}}}]}
    s3 = root_api.create_cred("cond-deletes", policy=policy).s3()
    assert s3_call(s3.delete_object, Bucket=b, Key="a")[:2] == (403, "AccessDenied")
    etag = s3.head_object(Bucket=b, Key="a")["ETag"]
    r = s3_call(lambda **kw: call_with_headers(s3, "delete_object", {"If-Match": etag}, **kw),
                Bucket=b, Key="a")
    assert r[:2] == (204, None), r
    # DeleteObjects: a key's own ETag element is its s3:if-match.
    etag_b = s3.head_object(Bucket=b, Key="b")["ETag"]

    def add_etag(params, **_):
        params["body"] = params["body"].replace(
            b"<Key>b</Key>", b"<Key>b</Key><ETag>%s</ETag>" % etag_b.encode())
    s3.meta.events.register_first("before-call.s3.DeleteObjects", add_etag)
    try:
        r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}]})
    finally:
        s3.meta.events.unregister("before-call.s3.DeleteObjects", add_etag)
    assert [d["Key"] for d in r.get("Deleted", [])] == ["b"]
    assert [(e["Key"], e["Code"]) for e in r.get("Errors", [])] == [("c", "AccessDenied")]
    left = [o["Key"] for o in admin_server.client().list_objects_v2(Bucket=b)["Contents"]]
    assert left == ["c"]


def test_delegation_keeps_the_condition(admin_server, root_api, make_bucket):
    """A child of a write-once credential cannot drop the condition; it may keep it."""
    b = make_bucket()
    pol = write_once_policy(b)
    pol["Statement"].append({"Effect": "Allow", "Action": "admin:CreateCredential",
                             "Resource": "arn:coffer:admin:::credential/*"})
    parent = root_api.create_cred("write-once-parent", policy=pol)
    api = parent.api()
    r = api.post("/v1/credentials", {"name": "child-ok", "policy": write_once_policy(b)})
    assert r.status == 201, r
    free = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": arn(b)}]}
    r = api.post("/v1/credentials", {"name": "child-free", "policy": free})
    assert r.status == 403 and r.code == "forbidden" and r.json["error"]["field"] == "policy", r
    assert "Statement[0]" in r.json["error"]["message"], r


def test_unknown_condition_key_is_refused(root_api):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
         "Condition": {"Null": {"s3:if-none-matches": "false"}}}]}
    r = root_api.post("/v1/credentials", {"name": "typo", "policy": policy})
    assert r.status == 400 and "s3:ObjectCreationOperation" in r.json["error"]["message"], r
