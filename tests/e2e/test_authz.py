"""The authorization matrix through boto3: every shorthand permission level x every S3
operation coffer implements x inside/outside the scoped buckets and prefixes.

Eight credentials, created by root: the four levels scoped to buckets [IN, NEW] (NEW does not
exist: it is the bucket an in-scope CreateBucket makes), and the same four also restricted to
prefixes ["p/"]. Root seeds IN with p/a.txt and q/b.txt, OUT with p/a.txt.

How the expectations follow from the model (docs/admin-api.md, src/auth/policy.h):
- object-* grant object access (read: GetObject; write also PutObject, DeleteObject) and
  ListBucket / GetBucketLocation on their buckets, never CreateBucket or DeleteBucket;
  admin-read-write grants everything S3 on its buckets (bucket management included),
  admin-read-only the same reads as object-read-only. Every level may ListBuckets, which is
  filtered to the buckets the credential may touch.
- prefixes restrict object actions to keys under them, and ListBucket (ListObjects and
  HeadBucket, which S3 maps to s3:ListBucket) to requests whose s3:prefix lies under them:
  a ListObjects or HeadBucket without a prefix is therefore refused. With prefixes the
  bucket is not wholly in scope, so even admin-read-write cannot create or delete it; only
  GetBucketLocation stays allowed on the bucket itself (see the table in src/auth/policy.c).
- CopyObject needs read on the source and write on the destination.
A refusal is S3 AccessDenied (403; HEAD answers have no body). An allowed request succeeds,
except DeleteBucket on the non-empty IN, which passes authorization and then gets 409
BucketNotEmpty.
"""
import itertools

import pytest

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import AdminApi, ROOT_TOKEN, s3_call, s3_client, s3_outcome


SHORT = {"arw": "admin-read-write", "aro": "admin-read-only", "orw": "object-read-write",
         "oro": "object-read-only"}
COLUMNS = [("bucket", "arw"), ("bucket", "aro"), ("bucket", "orw"), ("bucket", "oro"),
           ("prefix", "arw"), ("prefix", "aro"), ("prefix", "orw"), ("prefix", "oro")]

# Y = allowed, - = AccessDenied. Targets: "in" is the scoped bucket IN, "out" the bucket OUT
# outside the scope, "new" the not yet existing in-scope bucket NEW, "other" a new bucket
# name outside the scope; "in/p/" a key under the scoped prefix, "in/q/" a key outside it.
MATRIX = """
# operation         target            |   bucket scope    |   prefix scope (p/)
#                                     | arw aro orw oro   | arw aro orw oro
ListBuckets         -                 |  Y   Y   Y   Y    |  Y   Y   Y   Y
CreateBucket        new               |  Y   -   -   -    |  -   -   -   -
CreateBucket        other             |  -   -   -   -    |  -   -   -   -
HeadBucket          in                |  Y   Y   Y   Y    |  -   -   -   -
HeadBucket          out               |  -   -   -   -    |  -   -   -   -
DeleteBucket        in                |  Y   -   -   -    |  -   -   -   -
DeleteBucket        out               |  -   -   -   -    |  -   -   -   -
GetBucketLocation   in                |  Y   Y   Y   Y    |  Y   Y   Y   Y
GetBucketLocation   out               |  -   -   -   -    |  -   -   -   -
ListObjectsV2       in                |  Y   Y   Y   Y    |  -   -   -   -
ListObjectsV2       in?prefix=p/      |  Y   Y   Y   Y    |  Y   Y   Y   Y
ListObjectsV2       in?prefix=p/sub/  |  Y   Y   Y   Y    |  Y   Y   Y   Y
ListObjectsV2       in?prefix=q/      |  Y   Y   Y   Y    |  -   -   -   -
ListObjectsV2       out               |  -   -   -   -    |  -   -   -   -
ListObjectsV2       out?prefix=p/     |  -   -   -   -    |  -   -   -   -
PutObject           in/p/             |  Y   -   Y   -    |  Y   -   Y   -
PutObject           in/q/             |  Y   -   Y   -    |  -   -   -   -
PutObject           out/p/            |  -   -   -   -    |  -   -   -   -
GetObject           in/p/             |  Y   Y   Y   Y    |  Y   Y   Y   Y
GetObject           in/q/             |  Y   Y   Y   Y    |  -   -   -   -
GetObject           out/p/            |  -   -   -   -    |  -   -   -   -
HeadObject          in/p/             |  Y   Y   Y   Y    |  Y   Y   Y   Y
HeadObject          in/q/             |  Y   Y   Y   Y    |  -   -   -   -
HeadObject          out/p/            |  -   -   -   -    |  -   -   -   -
DeleteObject        in/p/             |  Y   -   Y   -    |  Y   -   Y   -
DeleteObject        in/q/             |  Y   -   Y   -    |  -   -   -   -
DeleteObject        out/p/            |  -   -   -   -    |  -   -   -   -
CopyObject          in/p/->in/p/      |  Y   -   Y   -    |  Y   -   Y   -
CopyObject          in/q/->in/p/      |  Y   -   Y   -    |  -   -   -   -
CopyObject          in/p/->in/q/      |  Y   -   Y   -    |  -   -   -   -
CopyObject          out/p/->in/p/     |  -   -   -   -    |  -   -   -   -
CopyObject          in/p/->out/p/     |  -   -   -   -    |  -   -   -   -
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
    """The buckets and the eight credentials (module-wide: creating them once is enough)."""
    from conftest import bucket_name_for, empty_and_delete
    srv = admin_session_server
    root = srv.client()
    api = AdminApi(srv, ROOT_TOKEN)
    names = {k: bucket_name_for("authz-" + k) for k in ("in", "out", "new", "other")}
    root.create_bucket(Bucket=names["in"])
    root.create_bucket(Bucket=names["out"])
    for k, v in SEED.items():
        root.put_object(Bucket=names["in"], Key=k, Body=v)
    for k, v in OUT_SEED.items():
        root.put_object(Bucket=names["out"], Key=k, Body=v)
    creds = {}
    for scope, lvl in COLUMNS:
        extra = {"prefixes": ["p/"]} if scope == "prefix" else {}
        creds[(scope, lvl)] = api.cred(SHORT[lvl], [names["in"], names["new"]],
                                       name="authz-%s-%s" % (scope, lvl), **extra)
    yield {"names": names, "creds": creds, "root": root, "api": api, "server": srv}
    for c in creds.values():
        api.delete("/v1/credentials/" + c.id)
    for n in names.values():
        empty_and_delete(root, n)


def split_target(names, t):
    """"in/p/" -> (bucket, key prefix); "in?prefix=q/" -> (bucket, "q/" as list prefix)."""
    if "?prefix=" in t:
        b, p = t.split("?prefix=")
        return names[b], p
    if "/" in t:
        b, p = t.split("/", 1)
        return names[b], p
    return names[t], None


def run_case(e, op, target, cred):
    """Performs one operation; returns (status, code) and checks the data where it can."""
    names, root = e["names"], e["root"]
    s3 = cred.s3()
    n = next(_seq)
    if op == "ListBuckets":
        return s3_outcome(s3.list_buckets)
    if op == "CreateBucket":
        b = names[target]
        got = s3_outcome(s3.create_bucket, Bucket=b)
        # Leave no bucket behind for the next case, whatever happened.
        if s3_outcome(root.head_bucket, Bucket=b)[1] is None:
            root.delete_bucket(Bucket=b)
        return got
    if op in ("HeadBucket", "DeleteBucket", "GetBucketLocation"):
        fn = {"HeadBucket": s3.head_bucket, "DeleteBucket": s3.delete_bucket,
              "GetBucketLocation": s3.get_bucket_location}[op]
        got = s3_outcome(fn, Bucket=names[target])
        if op == "DeleteBucket":
            assert s3_outcome(root.head_bucket, Bucket=names[target])[1] is None, \
                "a non-empty bucket was deleted"
        return got
    if op == "ListObjectsV2":
        b, prefix = split_target(names, target)
        kw = {"Bucket": b}
        if prefix is not None:
            kw["Prefix"] = prefix
        status, code, r = s3_call(s3.list_objects_v2, **kw)
        if code is not None:
            return status, code
        keys = sorted(o["Key"] for o in r.get("Contents", []))
        assert all(k.startswith(prefix or "") for k in keys), keys
        if prefix in (None, "p/"):
            assert "p/a.txt" in keys, keys
        return status, None
    if op in ("PutObject", "DeleteObject", "GetObject", "HeadObject"):
        b, kp = split_target(names, target)
        if op == "PutObject":
            key = "%sput-%d" % (kp, n)
            got = s3_outcome(s3.put_object, Bucket=b, Key=key, Body=b"matrix")
            exists = s3_outcome(root.head_object, Bucket=b, Key=key)[1] is None
            assert exists == (got[1] is None), "PutObject answered %r but exists=%s" % (got, exists)
            if exists:
                root.delete_object(Bucket=b, Key=key)
            return got
        if op == "DeleteObject":
            key = "%sdel-%d" % (kp, n)
            root.put_object(Bucket=b, Key=key, Body=b"to delete")
            got = s3_outcome(s3.delete_object, Bucket=b, Key=key)
            exists = s3_outcome(root.head_object, Bucket=b, Key=key)[1] is None
            assert exists == (got[1] is not None), \
                "DeleteObject answered %r but exists=%s" % (got, exists)
            if exists:
                root.delete_object(Bucket=b, Key=key)
            return got
        key = kp + ("a.txt" if kp == "p/" else "b.txt")
        if op == "GetObject":
            status, code, r = s3_call(s3.get_object, Bucket=b, Key=key)
            if code is None:
                want = (SEED if b == names["in"] else OUT_SEED)[key]
                assert r["Body"].read() == want
            return status, code
        return s3_outcome(s3.head_object, Bucket=b, Key=key)
    if op == "CopyObject":
        src, dst = target.split("->")
        sb, skp = split_target(names, src)
        db, dkp = split_target(names, dst)
        skey = skp + ("a.txt" if skp == "p/" else "b.txt")
        dkey = "%scopy-%d" % (dkp, n)
        got = s3_outcome(s3.copy_object, Bucket=db, Key=dkey,
                         CopySource={"Bucket": sb, "Key": skey})
        exists = s3_outcome(root.head_object, Bucket=db, Key=dkey)[1] is None
        assert exists == (got[1] is None), "CopyObject answered %r but exists=%s" % (got, exists)
        if exists:
            root.delete_object(Bucket=db, Key=dkey)
        return got
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
        want = ("AccessDenied", "403")  # HEAD: no body, botocore reports the status
        assert status == 403 and code in want, "%s: expected AccessDenied, got %s %s" % (
            what, status, code)
    elif op == "DeleteBucket":
        assert (status, code) == (409, "BucketNotEmpty"), \
            "%s: expected to pass authorization and get BucketNotEmpty, got %s %s" % (
                what, status, code)
    else:
        assert code is None and 200 <= status < 300, \
            "%s: expected success, got %s %s" % (what, status, code)


@pytest.mark.parametrize("scope,lvl", COLUMNS, ids=["%s-%s" % c for c in COLUMNS])
def test_list_buckets_shows_exactly_the_scoped_buckets(admin_server, env, scope, lvl):
    names = env["names"]
    got = sorted(b["Name"] for b in env["creds"][(scope, lvl)].s3().list_buckets()["Buckets"])
    # NEW is in the scope but does not exist; OUT exists but is not in the scope.
    assert got == [names["in"]]
    root_sees = {b["Name"] for b in env["root"].list_buckets()["Buckets"]}
    assert {names["in"], names["out"]} <= root_sees


def test_list_buckets_all_buckets_shorthand(admin_server, env, root_api):
    # A shorthand without buckets covers every bucket.
    c = root_api.cred("object-read-only", name="authz-all")
    try:
        got = {b["Name"] for b in c.s3().list_buckets()["Buckets"]}
        assert {env["names"]["in"], env["names"]["out"]} <= got
        assert c.s3().get_object(Bucket=env["names"]["out"], Key="p/a.txt")["Body"].read() \
            == b"out p"
    finally:
        root_api.delete("/v1/credentials/" + c.id)


def test_list_buckets_with_explicit_policy(admin_server, env, root_api):
    # A policy that only allows one object still lets ListBuckets show that bucket.
    names = env["names"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::%s/p/a.txt" % names["out"]}]}
    c = root_api.create_cred("authz-one-object", policy=policy)
    try:
        s3 = c.s3()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [names["out"]]
        assert s3.get_object(Bucket=names["out"], Key="p/a.txt")["Body"].read() == b"out p"
        assert s3_outcome(s3.get_object, Bucket=names["in"], Key="p/a.txt") == (403, "AccessDenied")
        assert s3_outcome(s3.put_object, Bucket=names["out"], Key="p/a.txt", Body=b"x") == \
            (403, "AccessDenied")
    finally:
        root_api.delete("/v1/credentials/" + c.id)


def test_explicit_deny_wins(admin_server, env, root_api):
    names = env["names"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": "arn:aws:s3:::%s/q/*" % names["in"]}]}
    c = root_api.create_cred("authz-deny", policy=policy)
    try:
        s3 = c.s3()
        assert s3.get_object(Bucket=names["in"], Key="p/a.txt")["Body"].read() == b"in p"
        assert s3_outcome(s3.get_object, Bucket=names["in"], Key="q/b.txt") == (403, "AccessDenied")
        assert s3_outcome(s3.put_object, Bucket=names["in"], Key="q/x", Body=b"x") == \
            (403, "AccessDenied")
        # Copy out of the denied prefix: read on the source is what is missing.
        assert s3_outcome(s3.copy_object, Bucket=names["in"], Key="p/copy-deny",
                          CopySource={"Bucket": names["in"], "Key": "q/b.txt"}) == \
            (403, "AccessDenied")
    finally:
        root_api.delete("/v1/credentials/" + c.id)


def test_policy_source_ip_condition(admin_server, env, root_api):
    names = env["names"]

    def pol(op):
        return {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                               "Condition": {op: {"aws:SourceIp": ["10.0.0.0/8"]}}}]}

    only_ten = root_api.create_cred("authz-ip-in", policy=pol("IpAddress"))
    not_ten = root_api.create_cred("authz-ip-notin", policy=pol("NotIpAddress"))
    try:
        assert s3_outcome(only_ten.s3().get_object, Bucket=names["in"], Key="p/a.txt") == \
            (403, "AccessDenied")
        assert not_ten.s3().get_object(Bucket=names["in"], Key="p/a.txt")["Body"].read() == b"in p"
    finally:
        root_api.delete("/v1/credentials/" + only_ten.id)
        root_api.delete("/v1/credentials/" + not_ten.id)


def test_policy_current_time_condition(admin_server, env, root_api):
    names = env["names"]

    def pol(op, when):
        return {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                               "Condition": {op: {"aws:CurrentTime": when}}}]}

    past = root_api.create_cred("authz-t1", policy=pol("DateLessThan", "2001-01-01T00:00:00Z"))
    future = root_api.create_cred("authz-t2", policy=pol("DateLessThan", "2199-01-01T00:00:00Z"))
    try:
        assert s3_outcome(past.s3().get_object, Bucket=names["in"], Key="p/a.txt") == \
            (403, "AccessDenied")
        assert future.s3().get_object(Bucket=names["in"], Key="p/a.txt")["Body"].read() == b"in p"
    finally:
        root_api.delete("/v1/credentials/" + past.id)
        root_api.delete("/v1/credentials/" + future.id)


def test_policy_secure_transport_condition(admin_server, env, root_api):
    # Plain HTTP on loopback: aws:SecureTransport is false.
    names = env["names"]
    pol = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                          "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}
    c = root_api.create_cred("authz-tls", policy=pol)
    try:
        assert s3_outcome(c.s3().get_object, Bucket=names["in"], Key="p/a.txt") == \
            (403, "AccessDenied")
    finally:
        root_api.delete("/v1/credentials/" + c.id)


def test_list_prefix_condition_string_equals(admin_server, env, root_api):
    names = env["names"]
    pol = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                          "Resource": "arn:aws:s3:::" + names["in"],
                          "Condition": {"StringEquals": {"s3:prefix": "q/"}}}]}
    c = root_api.create_cred("authz-listeq", policy=pol)
    try:
        s3 = c.s3()
        r = s3.list_objects_v2(Bucket=names["in"], Prefix="q/")
        assert [o["Key"] for o in r["Contents"]] == ["q/b.txt"]
        for p in ("p/", "q/x", ""):
            assert s3_outcome(s3.list_objects_v2, Bucket=names["in"], Prefix=p) == \
                (403, "AccessDenied"), p
        assert s3_outcome(s3.list_objects_v2, Bucket=names["in"]) == (403, "AccessDenied")
    finally:
        root_api.delete("/v1/credentials/" + c.id)


def test_temp_key_without_token_is_unknown(admin_server, env, root_api):
    t = root_api.temp(ttl_seconds=600)
    c = s3_client(admin_server, t["access_key_id"], t["secret_access_key"])
    assert s3_outcome(c.list_buckets) == (403, "InvalidAccessKeyId")
