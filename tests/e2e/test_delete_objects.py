"""DeleteObjects (POST /bucket?delete) through boto3, hand-signed requests and the AWS CLI:
1000 keys, Quiet, missing keys, per-key refusals for a prefix-scoped credential, the 1000-key
limit, the required Content-MD5 or x-amz-checksum-*, malformed bodies, unicode keys, and
`aws s3 rm --recursive` / `aws s3api delete-objects`."""
import base64
import hashlib
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from xml.sax.saxutils import escape

import pytest
from botocore.exceptions import ClientError

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_call  # noqa: E402
from s3util import (STREAMING_UNSIGNED_TRAILER, aws_chunked_unsigned, checksum_b64,  # noqa: E402
                    md5_b64, obj_path, parse_xml)

UNICODE_KEYS = [
    "ünïcödé/日本語 ファイル.txt",
    "emoji/😀 grin.bin",
    "кириллица/ключ",
    "mixed/a&b<c>d\"e'f",
    " leading and trailing spaces ",
    "tab\there",
    "plus+sign%percent?query#hash",
    "deep/" + "/".join("ä" * 3 for _ in range(20)),
]


def put_many(client, bucket, keys, body=b"x"):
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), keys))


def all_keys(client, bucket, prefix=""):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def delete_body(keys, quiet=None, versions=None):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    if quiet is not None:
        parts.append("<Quiet>%s</Quiet>" % quiet)
    for i, k in enumerate(keys):
        v = (versions or {}).get(i)
        parts.append("<Object><Key>%s</Key>%s</Object>"
                     % (escape(k), "" if v is None else "<VersionId>%s</VersionId>" % v))
    parts.append("</Delete>")
    return "".join(parts).encode("utf-8")


def raw_delete(raw, bucket, body, headers=None):
    return raw.request("POST", obj_path(bucket), [("delete", None)], headers or {}, body)


def raw_delete_trailer(raw, bucket, body):
    """The body as STREAMING-UNSIGNED-PAYLOAD-TRAILER with its CRC32C in the trailer."""
    trailer = [("x-amz-checksum-crc32c", checksum_b64("crc32c", body))]
    wire = aws_chunked_unsigned(body, trailer, chunk_size=100)
    headers = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(body)),
               "x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-sdk-checksum-algorithm": "CRC32C"}
    return raw.request("POST", obj_path(bucket), [("delete", None)], headers, wire,
                       payload_hash=STREAMING_UNSIGNED_TRAILER)


def result_of(resp):
    """(deleted keys, {key: code}) of a DeleteResult document."""
    root = parse_xml(resp.body)
    assert root.tag == "DeleteResult", resp
    deleted = [d.findtext("Key") for d in root.findall("Deleted")]
    errors = {e.findtext("Key"): e.findtext("Code") for e in root.findall("Error")}
    return deleted, errors


# ---------------------------------------------------------------- boto3


def test_delete_1000_keys(server, s3, bucket):
    keys = ["k/%04d" % i for i in range(1000)]
    put_many(s3, bucket, keys)
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in r["Deleted"]) == keys
    assert not r.get("Errors")
    assert all_keys(s3, bucket) == []


def test_quiet_true_lists_nothing_deleted(server, s3, bucket):
    keys = ["q/%d" % i for i in range(50)]
    put_many(s3, bucket, keys)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"k")
    r = s3.delete_objects(Bucket=bucket,
                          Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not r.get("Deleted") and not r.get("Errors")
    assert all_keys(s3, bucket) == ["keep"]


def test_quiet_false_lists_every_key(server, s3, bucket):
    put_many(s3, bucket, ["a", "b"])
    r = s3.delete_objects(Bucket=bucket,
                          Delete={"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": False})
    assert [d["Key"] for d in r["Deleted"]] == ["a", "b"]


def test_missing_keys_count_as_deleted(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="there", Body=b"1")
    objs = [{"Key": "there"}, {"Key": "never-was"}, {"Key": "there"}, {"Key": "gone/too"}]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
    assert [d["Key"] for d in r["Deleted"]] == ["there", "never-was", "there", "gone/too"]
    assert not r.get("Errors")
    assert all_keys(s3, bucket) == []


def test_unicode_and_special_keys(server, s3, bucket):
    put_many(s3, bucket, UNICODE_KEYS)
    assert sorted(all_keys(s3, bucket)) == sorted(UNICODE_KEYS)
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in UNICODE_KEYS]})
    assert [d["Key"] for d in r["Deleted"]] == UNICODE_KEYS
    assert all_keys(s3, bucket) == []


def test_more_than_1000_keys_is_malformed(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k/0", Body=b"x")
    objs = [{"Key": "k/%d" % i} for i in range(1001)]
    status, code, _ = s3_call(s3.delete_objects, Bucket=bucket, Delete={"Objects": objs})
    assert (status, code) == (400, "MalformedXML")
    assert all_keys(s3, bucket) == ["k/0"]  # nothing was deleted


def test_explicit_checksum_algorithms(server, s3, bucket):
    for alg in ("CRC32", "SHA1", "SHA256"):
        s3.put_object(Bucket=bucket, Key="c/" + alg, Body=b"x")
        r = s3.delete_objects(Bucket=bucket, ChecksumAlgorithm=alg,
                              Delete={"Objects": [{"Key": "c/" + alg}]})
        assert [d["Key"] for d in r["Deleted"]] == ["c/" + alg]
    assert all_keys(s3, bucket) == []


def test_no_such_bucket(server, s3, bucket_name):
    status, code, _ = s3_call(s3.delete_objects, Bucket=bucket_name,
                              Delete={"Objects": [{"Key": "a"}]})
    assert (status, code) == (404, "NoSuchBucket")


def test_version_ids(server, s3, bucket):
    put_many(s3, bucket, ["v1", "v2"])
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "v1", "VersionId": "null"}, {"Key": "v2", "VersionId": "3HL4kqtJlcpXroDTDmJ"}]})
    assert r["Deleted"] == [{"Key": "v1", "VersionId": "null"}]
    assert [(e["Key"], e["Code"], e.get("VersionId")) for e in r["Errors"]] == \
        [("v2", "InvalidArgument", "3HL4kqtJlcpXroDTDmJ")]
    assert all_keys(s3, bucket) == ["v2"]


def test_key_too_long_is_a_per_key_error(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ok", Body=b"x")
    long_key = "L" * 1025
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": long_key}, {"Key": "ok"}]})
    assert [d["Key"] for d in r["Deleted"]] == ["ok"]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [(long_key, "KeyTooLongError")]


# ---------------------------------------------------------------- raw requests


def test_checksum_header_required(server, raw, bucket, s3):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    body = delete_body(["a"])
    r = raw_delete(raw, bucket, body)
    assert r.status == 400 and r.code == "InvalidRequest", r
    assert r.error["Message"] == "Missing required header for this request: Content-MD5"
    # An algorithm announced without its checksum is refused too.
    r = raw_delete(raw, bucket, body, {"x-amz-sdk-checksum-algorithm": "CRC32"})
    assert r.status == 400 and r.code == "InvalidRequest", r
    r = raw_delete(raw, bucket, body, {"x-amz-sdk-checksum-algorithm": "MD4",
                                       "content-md5": md5_b64(body)})
    assert r.status == 400 and r.code == "InvalidRequest", r
    assert all_keys(s3, bucket) == ["a"]
    # A wrong digest is BadDigest and deletes nothing.
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(b"other")})
    assert r.status == 400 and r.code == "BadDigest", r
    crc = base64.b64encode((zlib.crc32(b"other") & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    r = raw_delete(raw, bucket, body, {"x-amz-checksum-crc32": crc})
    assert r.status == 400 and r.code == "BadDigest", r
    assert all_keys(s3, bucket) == ["a"]
    # Content-MD5 alone, or a checksum alone (with or without the SDK header), is enough.
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 200, r
    assert result_of(r) == (["a"], {})
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = raw_delete(raw, bucket, body, {"x-amz-checksum-sha256": sha,
                                       "x-amz-sdk-checksum-algorithm": "SHA256"})
    assert r.status == 200 and result_of(r) == (["a"], {}), r
    crc = base64.b64encode((zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    r = raw_delete(raw, bucket, body, {"x-amz-checksum-crc32": crc})
    assert r.status == 200 and result_of(r) == (["a"], {}), r
    r = raw_delete(raw, bucket, body, {"x-amz-sdk-checksum-algorithm": "MD5",
                                       "content-md5": md5_b64(body)})
    assert r.status == 200 and result_of(r) == (["a"], {}), r
    r = raw_delete(raw, bucket, body, {"x-amz-sdk-checksum-algorithm": "MD5"})
    assert r.status == 400 and r.code == "InvalidRequest", r
    # The checksum may come in an aws-chunked trailer.
    r = raw_delete_trailer(raw, bucket, body)
    assert r.status == 200 and result_of(r) == (["a"], {}), r


@pytest.mark.parametrize("body", [
    b"this is not xml",
    b"<Delete><Object><Key>a</Key></Object>",                     # unterminated
    b"<Remove><Object><Key>a</Key></Object></Remove>",            # wrong root
    b"<Delete></Delete>",                                         # no object
    b"<Delete><Quiet>true</Quiet></Delete>",
    b"<Delete><Object></Object></Delete>",                        # no key
    b"<Delete><Object><Key></Key></Object></Delete>",             # empty key
    b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>",
    b"<!DOCTYPE d [<!ENTITY x \"a\">]><Delete><Object><Key>&x;</Key></Object></Delete>",
    b"",
], ids=["text", "unterminated", "root", "empty", "quiet-only", "no-key", "empty-key",
        "bad-quiet", "doctype", "no-body"])
def test_malformed_xml(server, raw, bucket, s3, body):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 400 and r.code == "MalformedXML", r
    assert all_keys(s3, bucket) == ["a"]


def test_raw_quiet_and_order(server, raw, bucket, s3):
    put_many(s3, bucket, ["x", "y"])
    body = delete_body(["y", "nope", "x"], quiet="false")
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 200 and r.headers.get("Content-Type") == "application/xml", r
    assert result_of(r) == (["y", "nope", "x"], {})
    body = delete_body(["z"], quiet="TRUE")
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 200 and result_of(r) == ([], {}), r


def test_body_too_large(server, raw, bucket):
    # 1000 long keys fit in the 2 MiB limit; trailing whitespace one byte past it does not.
    body = delete_body(["k" * 1000 + "%d" % i for i in range(1000)])
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 200 and len(result_of(r)[0]) == 1000, r
    body += b" " * ((2 << 20) + 1 - len(body))
    r = raw_delete(raw, bucket, body, {"content-md5": md5_b64(body)})
    assert r.status == 400 and r.code == "MaxMessageLengthExceeded", r


# ---------------------------------------------------------------- per-key authorization


def test_prefix_scoped_credential_gets_per_key_errors(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"p/a": b"1", "p/b": b"2", "q/c": b"3"})
    root = admin_server.client()
    cred = root_api.cred("object-read-write", [b], ["p/"], name="del-prefix")
    c3 = cred.s3()
    r = c3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "p/a"}, {"Key": "q/c"}, {"Key": "p/missing"}, {"Key": "p/b"}]})
    assert [d["Key"] for d in r["Deleted"]] == ["p/a", "p/missing", "p/b"]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("q/c", "AccessDenied")]
    assert r["Errors"][0]["Message"]
    assert all_keys(root, b) == ["q/c"]
    # Quiet still reports the refusals.
    r = c3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "q/c"}, {"Key": "p/z"}],
                                            "Quiet": True})
    assert not r.get("Deleted")
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("q/c", "AccessDenied")]
    # Each refusal is audited with its key.
    events = root_api.audit_all(credential=cred.id)
    denied = [e for e in events if e["action"] == "s3:DeleteObject" and e["outcome"] == "denied"]
    assert [e["target"] for e in denied][-2:] == [b + "/q/c", b + "/q/c"], denied
    assert all_keys(root, b) == ["q/c"]


def test_read_only_credential_every_key_refused(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"p/a": b"1", "p/b": b"2"})
    cred = root_api.cred("object-read-only", [b], name="del-ro")
    r = cred.s3().delete_objects(Bucket=b, Delete={"Objects": [{"Key": "p/a"}, {"Key": "p/b"}]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not r.get("Deleted")
    assert sorted((e["Key"], e["Code"]) for e in r["Errors"]) == \
        [("p/a", "AccessDenied"), ("p/b", "AccessDenied")]
    assert all_keys(admin_server.client(), b) == ["p/a", "p/b"]


def test_missing_bucket_hidden_from_the_unauthorized(admin_server, root_api, make_bucket):
    b = make_bucket()
    cred = root_api.cred("object-read-write", [b], name="del-other")
    missing = b + "-nope"
    status, code, _ = s3_call(cred.s3().delete_objects, Bucket=missing,
                              Delete={"Objects": [{"Key": "a"}]})
    assert (status, code) == (403, "AccessDenied")
    status, code, _ = s3_call(admin_server.client().delete_objects, Bucket=missing,
                              Delete={"Objects": [{"Key": "a"}]})
    assert (status, code) == (404, "NoSuchBucket")


# ---------------------------------------------------------------- AWS CLI


def test_cli_rm_recursive(server, s3, bucket, aws, workdir):
    tree = ["top.txt", "dir/a.txt", "dir/sub/b.txt", "dir/ünï/ç.txt", "other/日本.txt"]
    tree += ["dir/many/%03d" % i for i in range(120)]
    for name in tree:
        path = os.path.join(workdir, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(name.encode())
    aws("s3", "cp", "--recursive", workdir, "s3://%s/" % bucket)
    assert sorted(all_keys(s3, bucket)) == sorted(tree)
    aws("s3", "rm", "--recursive", "s3://%s/dir/" % bucket)
    assert sorted(all_keys(s3, bucket)) == ["other/日本.txt", "top.txt"]
    aws("s3", "rm", "--recursive", "s3://%s" % bucket)
    assert all_keys(s3, bucket) == []


def test_cli_s3api_delete_objects(server, s3, bucket, aws, workdir):
    keys = ["cli/%d" % i for i in range(30)] + ["cli/ünï cödé"]
    put_many(s3, bucket, keys)
    spec = os.path.join(workdir, "delete.json")
    with open(spec, "w", encoding="utf-8") as f:
        json.dump({"Objects": [{"Key": k} for k in keys + ["cli/absent"]], "Quiet": False}, f)
    p = aws("s3api", "delete-objects", "--bucket", bucket, "--delete", "file://" + spec,
            "--output", "json")
    out = json.loads(p.stdout)
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted(keys + ["cli/absent"])
    assert not out.get("Errors")
    assert all_keys(s3, bucket) == []
