"""Conditional deletes (If-Match on DeleteObject, <ETag> in DeleteObjects), as S3 has them
since 2025: the condition is checked in the delete's transaction, so a delete never removes a
version its caller did not see. Driven through boto3 (the header added by a botocore event
hook, since Debian's botocore predates the parameter), hand-signed requests and a restricted
credential; the JavaScript SDK's IfMatch is tested in tests/js."""
import hashlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_call  # noqa: E402
from s3util import call_with_headers, md5_b64, obj_path, parse_xml  # noqa: E402


def etag_of(body):
    return '"%s"' % hashlib.md5(body).hexdigest()


def delete_if(s3, bucket, key, if_match):
    """DeleteObject with an If-Match header: (status, error code or None)."""
    status, code, _ = s3_call(lambda **kw: call_with_headers(s3, "delete_object",
                                                             {"If-Match": if_match}, **kw),
                              Bucket=bucket, Key=key)
    return status, code


def exists(s3, bucket, key):
    return s3_call(s3.head_object, Bucket=bucket, Key=key)[0] == 200


def test_matching_etag_deletes(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"one")
    assert delete_if(s3, bucket, "a", etag_of(b"one")) == (204, None)
    assert not exists(s3, bucket, "a")
    # The ETag without its quotes is accepted too.
    s3.put_object(Bucket=bucket, Key="a", Body=b"two")
    assert delete_if(s3, bucket, "a", etag_of(b"two").strip('"')) == (204, None)
    assert not exists(s3, bucket, "a")


def test_other_etag_keeps_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"old")
    s3.put_object(Bucket=bucket, Key="a", Body=b"new")
    assert delete_if(s3, bucket, "a", etag_of(b"old")) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"new"
    assert delete_if(s3, bucket, "a", etag_of(b"new")) == (204, None)


def test_star_needs_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    assert delete_if(s3, bucket, "a", "*") == (204, None)
    assert delete_if(s3, bucket, "a", "*") == (404, "NoSuchKey")
    assert delete_if(s3, bucket, "a", etag_of(b"x")) == (404, "NoSuchKey")
    # Without a condition a missing key still counts as deleted.
    assert s3_call(s3.delete_object, Bucket=bucket, Key="a")[0] == 204


def test_bad_values_and_missing_bucket(s3, raw, bucket, bucket_name):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    r = raw.request("DELETE", obj_path(bucket, "a"), headers={"If-Match": "  "})
    assert (r.status, r.code) == (400, "InvalidArgument"), r
    r = raw.request("DELETE", obj_path(bucket, "a"), headers={"If-Match": '""'})
    assert (r.status, r.code) == (400, "InvalidArgument"), r
    assert exists(s3, bucket, "a")
    r = raw.request("DELETE", obj_path(bucket_name + "-nope", "a"), headers={"If-Match": "*"})
    assert (r.status, r.code) == (404, "NoSuchBucket"), r


def test_concurrent_conditional_deletes_one_wins(s3, bucket):
    """Twenty deletes of the same version at once: the transaction lets exactly one through."""
    s3.put_object(Bucket=bucket, Key="race", Body=b"v1")
    start = threading.Barrier(20)

    def one(_):
        start.wait()
        return delete_if(s3, bucket, "race", etag_of(b"v1"))
    with ThreadPoolExecutor(20) as ex:
        got = list(ex.map(one, range(20)))
    assert got.count((204, None)) == 1, got
    assert got.count((404, "NoSuchKey")) == 19, got


def test_delete_racing_overwrites_never_removes_a_newer_version(s3, bucket):
    """A writer replaces the object while deleters ask to delete each version they saw: a
    delete that wins must have removed the version it named, never a newer one."""
    bodies = [b"version %d" % i for i in range(40)]
    s3.put_object(Bucket=bucket, Key="k", Body=bodies[0])
    outcomes = []

    def writer():
        for b in bodies[1:]:
            s3.put_object(Bucket=bucket, Key="k", Body=b)

    def deleter():
        for _ in range(40):
            r = s3_call(s3.get_object, Bucket=bucket, Key="k")
            if r[0] != 200:
                continue
            seen = r[2]["Body"].read()
            outcomes.append((seen, delete_if(s3, bucket, "k", etag_of(seen))))
    ts = [threading.Thread(target=writer)] + [threading.Thread(target=deleter) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert {o for _, o in outcomes} <= {(204, None), (412, "PreconditionFailed"),
                                        (404, "NoSuchKey")}, outcomes
    # Whatever is left is the last write or nothing: a delete after it must have seen it.
    r = s3_call(s3.get_object, Bucket=bucket, Key="k")
    if r[0] == 200:
        assert r[2]["Body"].read() == bodies[-1]
        assert (bodies[-1], (204, None)) not in outcomes
    else:
        assert (bodies[-1], (204, None)) in outcomes


def test_etag_condition_needs_get_permission(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"p/a": b"1", "p/b": b"2", "p/c": b"3"})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::%s/*" % b}]}
    c = root_api.create_cred("cond-delete-only", policy=policy)
    s3 = c.s3()
    # Comparing an ETag tells the caller something about the object: S3 wants s3:GetObject.
    assert delete_if(s3, b, "p/a", etag_of(b"1")) == (403, "AccessDenied")
    # An existence check does not.
    assert delete_if(s3, b, "p/a", "*") == (204, None)
    assert s3_call(s3.delete_object, Bucket=b, Key="p/b")[0] == 204
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "p/c"}]})
    assert [d["Key"] for d in r["Deleted"]] == ["p/c"]
    root = admin_server.client()
    assert [o["Key"] for o in root.list_objects_v2(Bucket=b).get("Contents", [])] == []


# ---------------------------------------------------------------- DeleteObjects


def delete_body(items):
    parts = ['<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    for key, etag in items:
        parts.append("<Object><Key>%s</Key>%s</Object>"
                     % (escape(key), "" if etag is None else "<ETag>%s</ETag>" % escape(etag)))
    parts.append("</Delete>")
    return "".join(parts).encode()


def test_delete_objects_with_etags(s3, raw, bucket):
    for k in ("match", "unquoted", "stale", "star", "plain"):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    body = delete_body([
        ("match", etag_of(b"match")),
        ("unquoted", etag_of(b"unquoted").strip('"')),
        ("stale", etag_of(b"something else")),
        ("star", "*"),
        ("gone", "*"),
        ("gone-etag", etag_of(b"x")),
        ("plain", None),
        ("never", None),
        ("empty", ""),
    ])
    r = raw.request("POST", obj_path(bucket), [("delete", None)], {"Content-MD5": md5_b64(body)},
                    body)
    assert r.status == 200, r
    root = parse_xml(r.body)
    deleted = [d.findtext("Key") for d in root.findall("Deleted")]
    errors = {e.findtext("Key"): e.findtext("Code") for e in root.findall("Error")}
    assert deleted == ["match", "unquoted", "star", "plain", "never"]
    assert errors == {"stale": "PreconditionFailed", "gone": "NoSuchKey",
                      "gone-etag": "NoSuchKey", "empty": "InvalidArgument"}
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert left == ["stale"]


def test_delete_objects_etag_through_boto3(s3, bucket):
    """Debian's botocore has no ETag member in ObjectIdentifier: the body is rewritten by an
    event hook before the Content-MD5 is computed, as a newer SDK would send it."""
    s3.put_object(Bucket=bucket, Key="a", Body=b"A")
    s3.put_object(Bucket=bucket, Key="b", Body=b"B")
    etags = {"a": etag_of(b"A"), "b": etag_of(b"other")}

    def add(params, **_):
        body = params["body"]
        for k, e in etags.items():
            body = body.replace(b"<Key>%s</Key>" % k.encode(),
                                b"<Key>%s</Key><ETag>%s</ETag>" % (k.encode(), e.encode()))
        params["body"] = body
    s3.meta.events.register_first("before-call.s3.DeleteObjects", add)
    try:
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    finally:
        s3.meta.events.unregister("before-call.s3.DeleteObjects", add)
    assert [d["Key"] for d in r.get("Deleted", [])] == ["a"]
    assert [(e["Key"], e["Code"]) for e in r.get("Errors", [])] == [("b", "PreconditionFailed")]
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"B"


@pytest.mark.parametrize("n", [1, 500])
def test_delete_objects_many_conditions(s3, raw, bucket, n):
    keys = ["k%04d" % i for i in range(n)]
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), keys))
    # Every even key with its own ETag, every odd one with its neighbour's.
    items = [(k, etag_of(k.encode()) if i % 2 == 0 else etag_of(keys[i - 1].encode()))
             for i, k in enumerate(keys)]
    body = delete_body(items)
    r = raw.request("POST", obj_path(bucket), [("delete", None)], {"Content-MD5": md5_b64(body)},
                    body)
    assert r.status == 200, r
    root = parse_xml(r.body)
    assert [d.findtext("Key") for d in root.findall("Deleted")] == keys[0::2]
    assert [e.findtext("Key") for e in root.findall("Error")] == keys[1::2]
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert left == keys[1::2]
