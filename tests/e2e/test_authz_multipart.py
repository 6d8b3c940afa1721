"""The authorization matrix of the multipart operations (and GetObject with PartNumber)
through boto3, in the style of test_authz.py: every shorthand permission level x each
operation x inside/outside the scoped buckets and prefixes.

The IAM actions, as in S3: CreateMultipartUpload, UploadPart, UploadPartCopy (plus
s3:GetObject on the source) and CompleteMultipartUpload need s3:PutObject on the object;
AbortMultipartUpload s3:AbortMultipartUpload; ListParts s3:ListMultipartUploadParts;
ListMultipartUploads s3:ListBucketMultipartUploads on the bucket, which the shorthand grants
to every level but object-read-only, and with prefixes only for listings whose prefix lies
under them (src/auth/policy.c). Root prepares every upload a case needs and removes what is
left afterwards.
"""
import itertools

import pytest

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import AdminApi, ROOT_TOKEN, s3_call, s3_outcome


SHORT = {"arw": "admin-read-write", "aro": "admin-read-only", "orw": "object-read-write",
         "oro": "object-read-only"}
COLUMNS = [("bucket", "arw"), ("bucket", "aro"), ("bucket", "orw"), ("bucket", "oro"),
           ("prefix", "arw"), ("prefix", "aro"), ("prefix", "orw"), ("prefix", "oro")]

MATRIX = """
# operation               target            |   bucket scope    |   prefix scope (p/)
#                                           | arw aro orw oro   | arw aro orw oro
CreateMultipartUpload     in/p/             |  Y   -   Y   -    |  Y   -   Y   -
CreateMultipartUpload     in/q/             |  Y   -   Y   -    |  -   -   -   -
CreateMultipartUpload     out/p/            |  -   -   -   -    |  -   -   -   -
UploadPart                in/p/             |  Y   -   Y   -    |  Y   -   Y   -
UploadPart                in/q/             |  Y   -   Y   -    |  -   -   -   -
UploadPart                out/p/            |  -   -   -   -    |  -   -   -   -
UploadPartCopy            in/p/->in/p/      |  Y   -   Y   -    |  Y   -   Y   -
UploadPartCopy            in/q/->in/p/      |  Y   -   Y   -    |  -   -   -   -
UploadPartCopy            in/p/->in/q/      |  Y   -   Y   -    |  -   -   -   -
UploadPartCopy            out/p/->in/p/     |  -   -   -   -    |  -   -   -   -
CompleteMultipartUpload   in/p/             |  Y   -   Y   -    |  Y   -   Y   -
CompleteMultipartUpload   in/q/             |  Y   -   Y   -    |  -   -   -   -
CompleteMultipartUpload   out/p/            |  -   -   -   -    |  -   -   -   -
AbortMultipartUpload      in/p/             |  Y   -   Y   -    |  Y   -   Y   -
AbortMultipartUpload      in/q/             |  Y   -   Y   -    |  -   -   -   -
AbortMultipartUpload      out/p/            |  -   -   -   -    |  -   -   -   -
ListParts                 in/p/             |  Y   Y   Y   Y    |  Y   Y   Y   Y
ListParts                 in/q/             |  Y   Y   Y   Y    |  -   -   -   -
ListParts                 out/p/            |  -   -   -   -    |  -   -   -   -
ListMultipartUploads      in                |  Y   Y   Y   -    |  -   -   -   -
ListMultipartUploads      in?prefix=p/      |  Y   Y   Y   -    |  Y   Y   Y   -
ListMultipartUploads      in?prefix=q/      |  Y   Y   Y   -    |  -   -   -   -
ListMultipartUploads      out               |  -   -   -   -    |  -   -   -   -
GetObjectPart             in/p/             |  Y   Y   Y   Y    |  Y   Y   Y   Y
GetObjectPart             in/q/             |  Y   Y   Y   Y    |  -   -   -   -
GetObjectPart             out/p/            |  -   -   -   -    |  -   -   -   -
"""


def parse_matrix(text):
    cases = []
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        head, bucket_cols, prefix_cols = line.split("|")
        op, target = head.split()
        marks = bucket_cols.split() + prefix_cols.split()
        assert len(marks) == 8 and set(marks) <= {"Y", "-"}, line
        for (scope, lvl), mark in zip(COLUMNS, marks):
            cases.append((op, target, scope, lvl, mark == "Y"))
    return cases


CASES = parse_matrix(MATRIX)
SEED = {"p/a.txt": b"in p", "q/b.txt": b"in q"}
OUT_SEED = {"p/a.txt": b"out p"}
_seq = itertools.count()


@pytest.fixture(scope="module")
def env(admin_session_server):
    from conftest import bucket_name_for, empty_and_delete
    srv = admin_session_server
    root = srv.client()
    api = AdminApi(srv, ROOT_TOKEN)
    names = {k: bucket_name_for("authz-mp-" + k) for k in ("in", "out")}
    for k, seed in (("in", SEED), ("out", OUT_SEED)):
        root.create_bucket(Bucket=names[k])
        for key, v in seed.items():
            root.put_object(Bucket=names[k], Key=key, Body=v)
    creds = {}
    for scope, lvl in COLUMNS:
        extra = {"prefixes": ["p/"]} if scope == "prefix" else {}
        creds[(scope, lvl)] = api.cred(SHORT[lvl], [names["in"]],
                                       name="authz-mp-%s-%s" % (scope, lvl), **extra)
    # A multipart object under each prefix, for GetObject with PartNumber.
    for b, key in ((names["in"], "p/mp"), (names["in"], "q/mp"), (names["out"], "p/mp")):
        uid = root.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
        e = root.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=1, Body=b"mp")["ETag"]
        root.complete_multipart_upload(Bucket=b, Key=key, UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e}]})
    yield {"names": names, "creds": creds, "root": root, "api": api}
    for c in creds.values():
        api.delete("/v1/credentials/" + c.id)
    for n in names.values():
        for u in root.list_multipart_uploads(Bucket=n).get("Uploads", []):
            root.abort_multipart_upload(Bucket=n, Key=u["Key"], UploadId=u["UploadId"])
        empty_and_delete(root, n)


def split_target(names, t):
    if "?prefix=" in t:
        b, p = t.split("?prefix=")
        return names[b], p
    if "/" in t:
        b, p = t.split("/", 1)
        return names[b], p
    return names[t], None


def uploads_of(root, bucket, key):
    return [u["UploadId"] for u in root.list_multipart_uploads(Bucket=bucket, Prefix=key)
            .get("Uploads", []) if u["Key"] == key]


def run_case(e, op, target, cred):
    names, root = e["names"], e["root"]
    s3 = cred.s3()
    n = next(_seq)
    if op == "ListMultipartUploads":
        b, prefix = split_target(names, target)
        kw = {"Bucket": b}
        if prefix is not None:
            kw["Prefix"] = prefix
        return s3_outcome(s3.list_multipart_uploads, **kw)
    if op == "UploadPartCopy":
        src, dst = target.split("->")
        sb, skp = split_target(names, src)
        db, dkp = split_target(names, dst)
        key = "%scopy-%d" % (dkp, n)
        uid = root.create_multipart_upload(Bucket=db, Key=key)["UploadId"]
        try:
            got = s3_outcome(s3.upload_part_copy, Bucket=db, Key=key, UploadId=uid,
                             PartNumber=1, CopySource={"Bucket": sb, "Key": skp + (
                                 "a.txt" if skp == "p/" else "b.txt")})
            parts = root.list_parts(Bucket=db, Key=key, UploadId=uid).get("Parts", [])
            assert len(parts) == (1 if got[1] is None else 0), (got, parts)
            return got
        finally:
            root.abort_multipart_upload(Bucket=db, Key=key, UploadId=uid)
    b, kp = split_target(names, target)
    if op == "GetObjectPart":
        status, code, r = s3_call(s3.get_object, Bucket=b, Key=kp + "mp", PartNumber=1)
        if code is None:
            assert r["Body"].read() == b"mp" and r["PartsCount"] == 1
        return status, code
    key = "%s%s-%d" % (kp, op.lower(), n)
    if op == "CreateMultipartUpload":
        got = s3_outcome(s3.create_multipart_upload, Bucket=b, Key=key)
        ids = uploads_of(root, b, key)
        assert len(ids) == (1 if got[1] is None else 0), (got, ids)
        for i in ids:
            root.abort_multipart_upload(Bucket=b, Key=key, UploadId=i)
        return got
    uid = root.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    etag = root.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    try:
        if op == "UploadPart":
            got = s3_outcome(s3.upload_part, Bucket=b, Key=key, UploadId=uid, PartNumber=2,
                             Body=b"more")
            parts = root.list_parts(Bucket=b, Key=key, UploadId=uid)["Parts"]
            assert len(parts) == (2 if got[1] is None else 1), (got, parts)
            return got
        if op == "ListParts":
            status, code, r = s3_call(s3.list_parts, Bucket=b, Key=key, UploadId=uid)
            if code is None:
                assert [p["ETag"] for p in r["Parts"]] == [etag]
            return status, code
        if op == "AbortMultipartUpload":
            got = s3_outcome(s3.abort_multipart_upload, Bucket=b, Key=key, UploadId=uid)
            assert (uploads_of(root, b, key) == []) == (got[1] is None), got
            return got
        if op == "CompleteMultipartUpload":
            got = s3_outcome(s3.complete_multipart_upload, Bucket=b, Key=key, UploadId=uid,
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
            exists = s3_outcome(root.head_object, Bucket=b, Key=key)[1] is None
            assert exists == (got[1] is None), (got, exists)
            if exists:
                root.delete_object(Bucket=b, Key=key)
            return got
    finally:
        for i in uploads_of(root, b, key):
            root.abort_multipart_upload(Bucket=b, Key=key, UploadId=i)
    raise AssertionError("unknown operation " + op)


@pytest.mark.parametrize(
    "op,target,scope,lvl,allowed", CASES,
    ids=["%s-%s-%s-%s" % (c[0], c[1].replace("?prefix=", "~").replace("/", "_"), c[2], c[3])
         for c in CASES])
def test_matrix(admin_server, env, op, target, scope, lvl, allowed):
    cred = env["creds"][(scope, lvl)]
    status, code = run_case(env, op, target, cred)
    what = "%s %s by %s (%s scope)" % (op, target, SHORT[lvl], scope)
    if not allowed:
        assert status == 403 and code in ("AccessDenied", "403"), \
            "%s: expected AccessDenied, got %s %s" % (what, status, code)
    else:
        assert code is None and 200 <= status < 300, \
            "%s: expected success, got %s %s" % (what, status, code)


def test_explicit_policy_actions(admin_server, env, root_api):
    """A policy with the multipart actions alone: parts need s3:PutObject, nothing else."""
    names = env["names"]
    b = names["in"]
    res = "arn:aws:s3:::%s/p/*" % b
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
         "Resource": res},
        {"Effect": "Allow", "Action": "s3:ListBucketMultipartUploads",
         "Resource": "arn:aws:s3:::%s" % b}]}
    c = root_api.create_cred("authz-mp-explicit", policy=policy)
    try:
        s3, root = c.s3(), env["root"]
        assert s3_outcome(s3.create_multipart_upload, Bucket=b, Key="p/x") == \
            (403, "AccessDenied")
        uid = root.create_multipart_upload(Bucket=b, Key="p/x")["UploadId"]
        assert s3_outcome(s3.upload_part, Bucket=b, Key="p/x", UploadId=uid, PartNumber=1,
                          Body=b"x") == (403, "AccessDenied")
        assert s3_outcome(s3.list_parts, Bucket=b, Key="p/x", UploadId=uid) == (200, None)
        assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"]]
        assert s3_outcome(s3.abort_multipart_upload, Bucket=b, Key="p/x", UploadId=uid) == \
            (204, None)
    finally:
        root_api.delete("/v1/credentials/" + c.id)
