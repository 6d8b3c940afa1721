"""Delegation: a three-level chain root -> A -> B -> C where each level narrows the scope;
children asking for more than their parent; revocation and disabling of the middle level
cutting off the grandchild on its very next request; expiry bounded by the parent's."""
import datetime

import pytest

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import assert_allowed, assert_denied, rfc3339, parse_time, s3_outcome, utcnow



@pytest.fixture
def chain(admin_server, root_api, make_bucket):
    """root -> A (admin-read-write on B1) -> B (admin-read-write on B1, prefix team/) ->
    C (object-read-only on B1, prefix team/), each created with its parent's token."""
    b1 = make_bucket("-1", {"team/doc.txt": b"team doc", "other/doc.txt": b"other doc"})
    b2 = make_bucket("-2", {"team/doc.txt": b"b2 doc"})
    a = root_api.cred("admin-read-write", [b1], name="A")
    b = a.api().cred("admin-read-write", [b1], ["team/"], name="B")
    c = b.api().cred("object-read-only", [b1], ["team/"], name="C")
    return {"b1": b1, "b2": b2, "a": a, "b": b, "c": c}


def test_chain_narrows_at_each_level(chain):
    b1, b2, a, b, c = (chain[k] for k in ("b1", "b2", "a", "b", "c"))
    assert a.data["parent_id"] is not None
    assert b.data["parent_id"] == a.id and c.data["parent_id"] == b.id
    for cred in (a, b, c):
        me = cred.api().get("/v1/credentials/self")
        assert me.status == 200, me
        assert me.json["id"] == cred.id and "secret_access_key" not in me.json \
            and "token" not in me.json

    # A: the whole of B1, nothing of B2.
    s3 = a.s3()
    assert_allowed(s3.put_object, Bucket=b1, Key="other/by-a", Body=b"a")
    assert_allowed(s3.put_object, Bucket=b1, Key="team/by-a", Body=b"a")
    assert_denied(s3.get_object, Bucket=b2, Key="team/doc.txt")
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == [b1]

    # B: only team/ of B1.
    s3 = b.s3()
    assert_allowed(s3.put_object, Bucket=b1, Key="team/by-b", Body=b"b")
    assert_denied(s3.put_object, Bucket=b1, Key="other/by-b", Body=b"b")
    assert_denied(s3.get_object, Bucket=b1, Key="other/doc.txt")
    assert_denied(s3.get_object, Bucket=b2, Key="team/doc.txt")
    assert_allowed(s3.list_objects_v2, Bucket=b1, Prefix="team/")
    assert_denied(s3.list_objects_v2, Bucket=b1, Prefix="other/")

    # C: read-only under team/ of B1.
    s3 = c.s3()
    assert s3.get_object(Bucket=b1, Key="team/doc.txt")["Body"].read() == b"team doc"
    assert_denied(s3.put_object, Bucket=b1, Key="team/by-c", Body=b"c")
    assert_denied(s3.delete_object, Bucket=b1, Key="team/doc.txt")
    assert_denied(s3.get_object, Bucket=b1, Key="other/doc.txt")
    assert_denied(s3.get_object, Bucket=b2, Key="team/doc.txt")
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == [b1]

    # The admin side narrows too: C is object-level and may not create credentials.
    r = c.api().post("/v1/credentials", {"name": "D", "permission": "object-read-only",
                                          "buckets": [b1], "prefixes": ["team/"]})
    assert r.status == 403 and r.code == "forbidden", r


def test_subtree_visibility(chain, root_api):
    a, b, c = chain["a"], chain["b"], chain["c"]
    r = a.api().get("/v1/credentials")
    assert r.status == 200, r
    assert {x["id"] for x in r.json["credentials"]} == {a.id, b.id, c.id}
    r = b.api().get("/v1/credentials")
    assert {x["id"] for x in r.json["credentials"]} == {b.id, c.id}
    for x in r.json["credentials"]:
        assert "secret_access_key" not in x and "token" not in x
    # Ancestors are outside B's subtree: 404, as for ids that do not exist.
    for other in (a.id, "CF" + "Z" * 18):
        r = b.api().get("/v1/credentials/" + other)
        assert r.status == 404 and r.code == "not_found", r
    root_id = root_api.get("/v1/credentials/self").json["id"]
    r = b.api().get("/v1/credentials/" + root_id)
    assert r.status == 404, r
    # Root sees the whole tree.
    r = root_api.get("/v1/credentials/" + c.id)
    assert r.status == 200 and r.json["parent_id"] == b.id, r
    # A parent may name a descendant as parent_id; the policy must fit the whole chain.
    r = a.api().post("/v1/credentials", {"name": "under-b", "parent_id": b.id,
                                          "permission": "object-read-only",
                                          "buckets": [chain["b1"]], "prefixes": ["team/x/"]})
    assert r.status == 201 and r.json["parent_id"] == b.id, r


@pytest.mark.parametrize("ask", [
    {"permission": "object-read-only", "buckets": ["B2"], "prefixes": ["team/"]},
    {"permission": "object-read-only", "buckets": ["B1"], "prefixes": ["other/"]},
    {"permission": "object-read-only", "buckets": ["B1"]},
    {"permission": "object-read-only"},
    {"permission": "admin-read-write", "buckets": ["B1", "B2"], "prefixes": ["team/"]},
    {"policy": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
    {"policy": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": "arn:aws:s3:::B1/*"}]}},
    {"policy": {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                               "Resource": "arn:aws:s3:::B1/team*"}]}},
], ids=["other-bucket", "other-prefix", "whole-bucket", "all-buckets", "extra-bucket",
        "s3-star", "bucket-wide-get", "prefix-without-slash"])
def test_child_asking_for_more_refused(chain, ask):
    # C's parent B holds admin-read-write on B1/team/ only.
    def fill(v):
        if isinstance(v, str):
            return v.replace("B1", chain["b1"]).replace("B2", chain["b2"])
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    body = dict(fill(ask), name="greedy")
    r = chain["b"].api().post("/v1/credentials", body)
    assert r.status == 403, r
    assert r.code == "forbidden" and r.field == "policy", r
    # The same asked of a temporary credential.
    tbody = {k: v for k, v in body.items() if k != "name"}
    r = chain["b"].api().post("/v1/temporary-credentials", tbody)
    assert r.status == 403 and r.field == "policy", r


def test_child_within_parent_accepted(chain):
    r = chain["b"].api().post("/v1/credentials", {
        "name": "narrower", "permission": "object-read-write", "buckets": [chain["b1"]],
        "prefixes": ["team/sub/"]})
    assert r.status == 201, r


def test_revoking_middle_cuts_off_grandchild(chain, root_api):
    a, b, c, b1 = chain["a"], chain["b"], chain["c"], chain["b1"]
    c_s3, b_s3 = c.s3(), b.s3()
    c_api = c.api()
    # Used once before: any connection or cache is warm.
    assert c_s3.get_object(Bucket=b1, Key="team/doc.txt")["Body"].read() == b"team doc"
    assert b_s3.list_objects_v2(Bucket=b1, Prefix="team/")["KeyCount"] >= 1
    assert c_api.self_status() == 200

    r = a.api().delete("/v1/credentials/" + b.id)
    assert r.status == 200 and r.json == {"deleted": 2}, r

    assert s3_outcome(c_s3.get_object, Bucket=b1, Key="team/doc.txt") == \
        (403, "InvalidAccessKeyId")
    assert c_api.self_status() == 401
    assert s3_outcome(b_s3.list_objects_v2, Bucket=b1, Prefix="team/") == \
        (403, "InvalidAccessKeyId")
    assert b.api().self_status() == 401
    # A fresh client (new connection) is refused as well.
    assert s3_outcome(c.s3(fresh=True).list_buckets) == (403, "InvalidAccessKeyId")
    # A is untouched; B and C are gone from every listing.
    assert a.api().self_status() == 200
    assert_allowed(a.s3().get_object, Bucket=b1, Key="team/doc.txt")
    ids = {x["id"] for x in a.api().get("/v1/credentials").json["credentials"]}
    assert ids == {a.id}
    assert root_api.get("/v1/credentials/" + c.id).status == 404
    # Deleting again: 404.
    r = a.api().delete("/v1/credentials/" + b.id)
    assert r.status == 404 and r.code == "not_found", r


def test_disabling_middle_cuts_off_grandchild_and_enabling_restores(chain):
    a, b, c, b1 = chain["a"], chain["b"], chain["c"], chain["b1"]
    c_s3, c_api = c.s3(), c.api()
    assert c_s3.get_object(Bucket=b1, Key="team/doc.txt")["Body"].read() == b"team doc"
    assert c_api.self_status() == 200

    r = a.api().patch("/v1/credentials/" + b.id, {"status": "disabled"})
    assert r.status == 200 and r.json["status"] == "disabled", r
    assert s3_outcome(c_s3.get_object, Bucket=b1, Key="team/doc.txt") == \
        (403, "InvalidAccessKeyId")
    assert c_api.self_status() == 401
    assert s3_outcome(b.s3().list_objects_v2, Bucket=b1, Prefix="team/") == \
        (403, "InvalidAccessKeyId")
    assert b.api().self_status() == 401
    # C itself still reads as active: the chain, not the row, refuses it.
    r = a.api().get("/v1/credentials/" + c.id)
    assert r.status == 200 and r.json["status"] == "active", r
    # A disabled parent cannot get children or temporary credentials either.
    r = a.api().post("/v1/credentials", {"name": "x", "parent_id": c.id,
                                          "permission": "object-read-only",
                                          "buckets": [b1], "prefixes": ["team/"]})
    assert r.status in (403, 409), r
    r = a.api().post("/v1/temporary-credentials", {"credential_id": c.id, "ttl_seconds": 60})
    assert r.status in (403, 409), r

    r = a.api().patch("/v1/credentials/" + b.id, {"status": "active"})
    assert r.status == 200 and r.json["status"] == "active", r
    assert c_s3.get_object(Bucket=b1, Key="team/doc.txt")["Body"].read() == b"team doc"
    assert c_api.self_status() == 200
    assert_allowed(b.s3().list_objects_v2, Bucket=b1, Prefix="team/")


def test_disabling_top_cuts_off_whole_subtree(chain, root_api):
    a, b, c, b1 = chain["a"], chain["b"], chain["c"], chain["b1"]
    assert root_api.set_status(a.id, "disabled")["status"] == "disabled"
    for cred in (a, b, c):
        assert cred.api().self_status() == 401, cred.data["name"]
    assert s3_outcome(c.s3().get_object, Bucket=b1, Key="team/doc.txt") == \
        (403, "InvalidAccessKeyId")
    root_api.set_status(a.id, "active")
    assert c.api().self_status() == 200


def test_child_cannot_change_its_parent(chain):
    a, b, c = chain["a"], chain["b"], chain["c"]
    # B can disable C (its subtree) but not A (outside it).
    r = b.api().patch("/v1/credentials/" + a.id, {"status": "disabled"})
    assert r.status == 404, r
    r = b.api().delete("/v1/credentials/" + a.id)
    assert r.status == 404, r
    r = b.api().post("/v1/credentials/%s/rotate" % a.id, {})
    assert r.status == 404, r
    assert a.api().self_status() == 200
    r = b.api().patch("/v1/credentials/" + c.id, {"name": "C renamed"})
    assert r.status == 200 and r.json["name"] == "C renamed", r


def test_child_expiry_bounded_by_parent(admin_server, root_api, make_bucket):
    b1 = make_bucket()
    parent_exp = utcnow().replace(microsecond=0) + datetime.timedelta(hours=1)
    p = root_api.cred("admin-read-write", [b1], name="P", expires_at=rfc3339(parent_exp))
    assert parse_time(p.data["expires_at"]) == parent_exp

    later = rfc3339(parent_exp + datetime.timedelta(minutes=1))
    ro = {"permission": "object-read-only", "buckets": [b1]}
    r = p.api().post("/v1/credentials", dict(ro, name="late", expires_at=later))
    assert r.status == 400 and r.code == "invalid_request" and r.field == "expires_at", r
    r = p.api().post("/v1/credentials", dict(ro, name="late", ttl_seconds=2 * 3600))
    assert r.status == 400 and r.field == "ttl_seconds", r
    # Root asking on P's behalf is bound the same way.
    r = root_api.post("/v1/credentials", dict(ro, name="late", parent_id=p.id, expires_at=later))
    assert r.status == 400 and r.field == "expires_at", r

    # Earlier or equal is fine; none at all inherits the parent's.
    earlier = rfc3339(parent_exp - datetime.timedelta(minutes=1))
    r = p.api().post("/v1/credentials", dict(ro, name="early", expires_at=earlier))
    assert r.status == 201 and r.json["expires_at"].startswith(earlier[:-1]), r
    r = p.api().post("/v1/credentials", dict(ro, name="equal", expires_at=rfc3339(parent_exp)))
    assert r.status == 201, r
    r = p.api().post("/v1/credentials", dict(ro, name="inherit"))
    assert r.status == 201, r
    assert r.json["expires_at"] is not None and parse_time(r.json["expires_at"]) <= parent_exp
    grandchild = r.json["id"]

    # A parent's expiry can be moved earlier (never later); children beyond it stay bounded
    # by the chain check at request time.
    r = root_api.patch("/v1/credentials/" + p.id, {"expires_at": later})
    assert r.status == 400 and r.field == "expires_at", r
    r = root_api.patch("/v1/credentials/" + p.id, {"expires_at": earlier})
    assert r.status == 200 and parse_time(r.json["expires_at"]) < parent_exp, r
    assert root_api.get("/v1/credentials/" + grandchild).status == 200


def test_delete_counts_subtree(admin_server, root_api):
    top = root_api.cred("admin-read-write", name="top")
    mid = top.api().cred("admin-read-write", name="mid")
    mid.api().cred("object-read-only", name="leaf1")
    mid.api().cred("object-read-only", name="leaf2")
    top.api().cred("object-read-only", name="leaf3")
    r = root_api.delete("/v1/credentials/" + top.id)
    assert r.status == 200 and r.json == {"deleted": 5}, r
