"""Temporary credentials: boto3 with aws_session_token, presigned URLs carrying the token,
narrowing by policy, expiry, death with the parent, tampered tokens."""
import base64

import pytest
import requests

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import (assert_allowed, assert_denied, parse_time, s3_client, s3_outcome,
                            sleep_past, utcnow)



# A temporary credential whose parent chain is revoked or disabled is refused with
# AccessDenied (its own time is not up, so not ExpiredToken; its key is not unknown).
DEAD = ((403, "AccessDenied"),)


def temp_s3(server, t):
    return s3_client(server, t["access_key_id"], t["secret_access_key"], t["session_token"])


def test_temp_from_root_with_session_token(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    t = root_api.temp(ttl_seconds=600, permission="object-read-write", buckets=[b])
    assert set(t) >= {"access_key_id", "secret_access_key", "session_token", "expires_at",
                      "policy"}
    assert t["access_key_id"].startswith("CT") and len(t["access_key_id"]) == 20
    assert isinstance(t["policy"], dict) and t["policy"]["Statement"]
    exp = parse_time(t["expires_at"])
    assert exp > utcnow()
    s3 = temp_s3(admin_server, t)
    s3.put_object(Bucket=b, Key="by-temp", Body=b"t")
    assert s3.get_object(Bucket=b, Key="by-temp")["Body"].read() == b"t"
    assert [x["Name"] for x in s3.list_buckets()["Buckets"]] == [b]
    assert_denied(s3.create_bucket, Bucket=b + "-x")
    # Each issue is a new key.
    t2 = root_api.temp(ttl_seconds=600)
    assert t2["access_key_id"] != t["access_key_id"] and t2["session_token"] != t["session_token"]
    assert t2["policy"] is None


def test_temp_narrowed_by_policy(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"p/k": b"v", "q/k": b"w"})
    t = root_api.temp(ttl_seconds=600, permission="object-read-only", buckets=[b],
                      prefixes=["p/"])
    s3 = temp_s3(admin_server, t)
    assert s3.get_object(Bucket=b, Key="p/k")["Body"].read() == b"v"
    assert_denied(s3.put_object, Bucket=b, Key="p/new", Body=b"x")
    assert_denied(s3.delete_object, Bucket=b, Key="p/k")
    assert_denied(s3.get_object, Bucket=b, Key="q/k")
    assert_denied(s3.list_objects_v2, Bucket=b)
    assert_allowed(s3.list_objects_v2, Bucket=b, Prefix="p/")


def test_temp_explicit_policy(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"one": b"1", "two": b"2"})
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/one" % b}]}
    t = root_api.temp(ttl_seconds=600, policy=pol)
    s3 = temp_s3(admin_server, t)
    assert s3.get_object(Bucket=b, Key="one")["Body"].read() == b"1"
    assert_denied(s3.get_object, Bucket=b, Key="two")


def test_temp_of_descendant_has_its_rights(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    other = make_bucket("-o", objects={"k": b"o"})
    child = root_api.cred("object-read-only", [b], name="temp-parent")
    # Minted by root for the child: the child's rights, no more.
    t = root_api.temp(credential_id=child.id, ttl_seconds=600)
    s3 = temp_s3(admin_server, t)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert_denied(s3.put_object, Bucket=b, Key="k2", Body=b"x")
    assert_denied(s3.get_object, Bucket=other, Key="k")


def test_temp_minted_by_child_itself(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    svc = root_api.cred("admin-read-write", [b], name="svc")
    t = svc.api().temp(ttl_seconds=600, permission="object-read-only", buckets=[b])
    s3 = temp_s3(admin_server, t)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert_denied(s3.put_object, Bucket=b, Key="k", Body=b"x")
    # An object-level credential may not mint.
    ro = root_api.cred("object-read-only", [b], name="ro")
    r = ro.api().post("/v1/temporary-credentials", {"ttl_seconds": 60})
    assert r.status == 403 and r.code == "forbidden", r


def test_presigned_urls_with_token(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"presigned"})
    rw = temp_s3(admin_server, root_api.temp(ttl_seconds=600, permission="object-read-write",
                                             buckets=[b]))
    url = rw.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"},
                                    ExpiresIn=300)
    assert "X-Amz-Security-Token=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == b"presigned", r.text
    put = rw.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up"},
                                    ExpiresIn=300)
    r = requests.put(put, data=b"uploaded", timeout=30)
    assert r.status_code == 200, r.text
    assert admin_server.client().get_object(Bucket=b, Key="up")["Body"].read() == b"uploaded"

    # Without the token the URL's key is unknown; a read-only temp cannot presign a PUT.
    bare = url.replace("X-Amz-Security-Token=", "X-Amz-Ignored=")
    r = requests.get(bare, timeout=30)
    assert r.status_code == 403, r.text
    ro = temp_s3(admin_server, root_api.temp(ttl_seconds=600, permission="object-read-only",
                                             buckets=[b]))
    put = ro.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "nope"},
                                    ExpiresIn=300)
    r = requests.put(put, data=b"x", timeout=30)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text, r.text


def test_temp_expiry(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    t = root_api.temp(ttl_seconds=1, permission="object-read-only", buckets=[b])
    sleep_past(t["expires_at"])
    s3 = temp_s3(admin_server, t)
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") == (400, "ExpiredToken")
    assert s3_outcome(s3.list_buckets) == (400, "ExpiredToken")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"})
    r = requests.get(url, timeout=30)
    assert r.status_code == 400 and "<Code>ExpiredToken</Code>" in r.text, r.text


def test_temp_ttl_capped_by_parent_expiry(admin_server, root_api):
    parent = root_api.cred("admin-read-write", name="short-parent", ttl_seconds=3600)
    t = parent.api().temp(ttl_seconds=7 * 86400)
    assert parse_time(t["expires_at"]) <= parse_time(parent.data["expires_at"])


def test_temp_dies_with_revoked_parent(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    parent = root_api.cred("admin-read-write", [b], name="doomed")
    t = parent.api().temp(ttl_seconds=600)
    s3 = temp_s3(admin_server, t)
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    root_api.revoke(parent.id)
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") in DEAD


def test_temp_dies_with_revoked_grandparent_and_disabled_parent(admin_server, root_api,
                                                                 make_bucket):
    b = make_bucket(objects={"k": b"v"})
    top = root_api.cred("admin-read-write", [b], name="top")
    mid = top.api().cred("admin-read-write", [b], name="mid")
    t = mid.api().temp(ttl_seconds=600, permission="object-read-only", buckets=[b])
    s3 = temp_s3(admin_server, t)
    assert_allowed(s3.get_object, Bucket=b, Key="k")
    top.api().set_status(mid.id, "disabled")
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") in DEAD
    top.api().set_status(mid.id, "active")
    assert_allowed(s3.get_object, Bucket=b, Key="k")
    root_api.revoke(top.id)
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") in DEAD


def flip(token, i):
    c = token[i]
    return token[:i] + ("A" if c != "A" else "B") + token[i + 1:]


def test_tampered_token_refused(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    t = root_api.temp(ttl_seconds=600, permission="object-read-only", buckets=[b])
    tok = t["session_token"]
    variants = {
        "first": flip(tok, 0),
        "middle": flip(tok, len(tok) // 2),
        "last": flip(tok, len(tok) - 2),
        "truncated": tok[:-8],
        "extended": tok + "AAAA",
        "garbage": "not-a-token",
        "base64-junk": base64.b64encode(b"\x00" * 120).decode(),
    }
    for what, bad in variants.items():
        s3 = s3_client(admin_server, t["access_key_id"], t["secret_access_key"], bad)
        got = s3_outcome(s3.get_object, Bucket=b, Key="k")
        assert got == (400, "InvalidToken"), (what, got)
    # Another temporary credential's (valid) token with this key id.
    other = root_api.temp(ttl_seconds=600)
    s3 = s3_client(admin_server, t["access_key_id"], t["secret_access_key"],
                   other["session_token"])
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") == (400, "InvalidToken")
    # A permanent key with a session token is not a temporary credential either.
    s3 = s3_client(admin_server, *admin_server_root(admin_server), tok)
    assert s3_outcome(s3.list_buckets)[0] in (400, 403)
    # The genuine token still works.
    assert_allowed(temp_s3(admin_server, t).get_object, Bucket=b, Key="k")


def admin_server_root(server):
    return server.access_key, server.secret


def test_temp_wrong_secret(admin_server, root_api):
    t = root_api.temp(ttl_seconds=600)
    s3 = s3_client(admin_server, t["access_key_id"], "x" * 40, t["session_token"])
    assert s3_outcome(s3.list_buckets) == (403, "SignatureDoesNotMatch")


def test_temp_cannot_use_admin_api(admin_server, root_api):
    t = root_api.temp(ttl_seconds=600)
    for tok in (t["session_token"], t["secret_access_key"]):
        r = root_api.get("/v1/credentials/self", token=tok)
        assert r.status == 401 and r.code == "unauthorized", r


@pytest.mark.parametrize("ttl", [0, -1, 604801, "60", 1.5, None])
def test_temp_bad_ttl(admin_server, root_api, ttl):
    r = root_api.post("/v1/temporary-credentials", {"ttl_seconds": ttl})
    assert r.status == 400 and r.code == "invalid_request" and r.field == "ttl_seconds", r


def test_temp_ttl_bounds_accepted(admin_server, root_api):
    for ttl in (1, 604800):
        t = root_api.temp(ttl_seconds=ttl)
        assert t["session_token"]
