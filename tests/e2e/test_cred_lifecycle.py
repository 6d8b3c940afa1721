"""A credential's life: expiry and not_before, allowed_ips, rotation with and without grace.

No timed assertions: a check that something still works uses a window far longer than the
test, and a check that it stopped working waits past the end of a short window first. The
not_before / expires_at tests move the server clock instead (--debug-clock-offset-ms), and
sign their S3 requests with the shifted time so that they are not refused as skewed."""
import datetime

import pytest

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import (AdminApi, ROOT_TOKEN, assert_allowed, parse_time, rfc3339,
                            s3_client, s3_outcome, sleep_past, utcnow)
from s3util import amz_now, obj_path


HOUR_MS = 3600 * 1000


# ---------------------------------------------------------------- expiry

def test_ttl_expiry(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    long_lived = root_api.cred("object-read-only", [b], name="long", ttl_seconds=3600)
    short = root_api.cred("object-read-only", [b], name="short", ttl_seconds=1)
    assert short.data["expires_at"] is not None
    exp = parse_time(short.data["expires_at"])
    assert parse_time(long_lived.data["expires_at"]) > exp
    sleep_past(exp)
    assert s3_outcome(short.s3().get_object, Bucket=b, Key="k") == (403, "InvalidAccessKeyId")
    assert short.api().self_status() == 401
    # The same shape with a window that has not ended works.
    assert long_lived.s3().get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert long_lived.api().self_status() == 200
    # The expired credential is still listed, with its expiry, for its parent.
    r = root_api.get("/v1/credentials/" + short.id)
    assert r.status == 200 and r.json["expires_at"] == short.data["expires_at"], r


def test_expired_parent_cuts_off_child(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    parent = root_api.cred("admin-read-write", [b], name="parent", ttl_seconds=1)
    child = parent.api().cred("object-read-only", [b], name="child")
    # The child inherited the parent's expiry.
    assert parse_time(child.data["expires_at"]) <= parse_time(parent.data["expires_at"])
    sleep_past(parent.data["expires_at"])
    assert s3_outcome(child.s3().get_object, Bucket=b, Key="k") == (403, "InvalidAccessKeyId")
    assert child.api().self_status() == 401


def test_expires_at_patch_earlier(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-only", [b], name="patched")
    assert c.data["expires_at"] is None
    soon = utcnow() + datetime.timedelta(seconds=2)
    r = root_api.patch("/v1/credentials/" + c.id, {"expires_at": rfc3339(soon)})
    assert r.status == 200 and r.json["expires_at"] is not None, r
    sleep_past(r.json["expires_at"])
    assert s3_outcome(c.s3().get_object, Bucket=b, Key="k") == (403, "InvalidAccessKeyId")
    assert c.api().self_status() == 401


def shifted_get(srv, cred, bucket, key, offset_s):
    """A GetObject signed with the clock shifted by offset_s (as the server's is)."""
    return srv.raw(cred.id, cred.secret).request("GET", obj_path(bucket, key),
                                                 amz_date=amz_now(offset_s))


def test_not_before_and_expires_at_with_clock_jump(start_admin_server):
    srv = start_admin_server()
    api = AdminApi(srv, ROOT_TOKEN)
    srv.client().create_bucket(Bucket="jump")
    srv.client().put_object(Bucket="jump", Key="k", Body=b"v")
    now = utcnow()
    later = api.cred("object-read-only", ["jump"], name="later",
                     not_before=rfc3339(now + datetime.timedelta(hours=1)))
    ending = api.cred("object-read-only", ["jump"], name="ending",
                      expires_at=rfc3339(now + datetime.timedelta(hours=1)))
    assert later.data["not_before"] is not None
    # Now: `later` is refused on both APIs, `ending` works.
    r = shifted_get(srv, later, "jump", "k", 0)
    assert r.status == 403 and r.code == "InvalidAccessKeyId", r
    assert later.api().self_status() == 401
    r = shifted_get(srv, ending, "jump", "k", 0)
    assert r.status == 200 and r.body == b"v", r
    assert ending.api().self_status() == 200

    # Two hours later: the other way round.
    srv.args += ["--debug-clock-offset-ms", str(2 * HOUR_MS)]
    srv.restart()
    r = shifted_get(srv, later, "jump", "k", 7200)
    assert r.status == 200 and r.body == b"v", r
    assert later.api().self_status() == 200
    r = shifted_get(srv, ending, "jump", "k", 7200)
    assert r.status == 403 and r.code == "InvalidAccessKeyId", r
    assert ending.api().self_status() == 401
    # The root still works after the jump.
    r = srv.raw().request("GET", "/", amz_date=amz_now(7200))
    assert r.status == 200, r


# ---------------------------------------------------------------- allowed_ips

@pytest.mark.parametrize("ips,ok", [
    (["10.0.0.0/8"], False),
    (["127.0.0.1/32"], True),
    (["127.0.0.0/8", "2001:db8::/32"], True),
    (["2001:db8::/32"], False),
    (["::1/128"], False),  # IPv6 loopback is not the IPv4 one the tests connect from
    (["192.0.2.7", "127.0.0.1"], True),  # bare addresses
    ([], True),
], ids=["ten-slash-8", "localhost-32", "v4-and-v6", "v6-only", "v6-loopback", "bare", "empty"])
def test_allowed_ips(admin_server, root_api, make_bucket, ips, ok):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-only", [b], name="ip", allowed_ips=ips)
    assert c.data["allowed_ips"] == ips or len(c.data["allowed_ips"]) == len(ips), c.data
    got = s3_outcome(c.s3().get_object, Bucket=b, Key="k")
    me = c.api().get("/v1/credentials/self")
    if ok:
        assert got == (200, None)
        assert me.status == 200, me
    else:
        assert got == (403, "AccessDenied")
        assert me.status == 403 and me.code == "forbidden", me


def test_allowed_ips_patch_and_ancestor(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    parent = root_api.cred("admin-read-write", [b], name="ip-parent")
    child = parent.api().cred("object-read-only", [b], name="ip-child")
    assert_allowed(child.s3().get_object, Bucket=b, Key="k")

    r = root_api.patch("/v1/credentials/" + parent.id, {"allowed_ips": ["10.0.0.0/8"]})
    assert r.status == 200 and r.json["allowed_ips"] == ["10.0.0.0/8"], r
    # The ancestor's list refuses the child's requests too, on the next request.
    assert s3_outcome(child.s3().get_object, Bucket=b, Key="k") == (403, "AccessDenied")
    assert child.api().get("/v1/credentials/self").status == 403
    assert parent.api().get("/v1/credentials/self").status == 403

    r = root_api.patch("/v1/credentials/" + parent.id, {"allowed_ips": []})
    assert r.status == 200 and r.json["allowed_ips"] == [], r
    assert_allowed(child.s3().get_object, Bucket=b, Key="k")
    assert child.api().self_status() == 200


# ---------------------------------------------------------------- rotation

def test_rotation_without_grace(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-write", [b], name="rot")
    old_s3, old_api = c.s3(), c.api()
    assert old_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert old_api.self_status() == 200

    r = root_api.post("/v1/credentials/%s/rotate" % c.id)  # no body: grace 0
    assert r.status == 200, r
    new = r.json
    assert new["id"] == c.id
    assert new["secret_access_key"] != c.secret and new["token"] != c.token
    assert len(new["secret_access_key"]) == 40 and new["secret_access_key"].isalnum()
    assert new["token"].startswith("cft_")

    assert s3_outcome(old_s3.get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert old_api.self_status() == 401
    new_s3 = s3_client(admin_server, c.id, new["secret_access_key"])
    assert new_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert AdminApi(admin_server, new["token"]).self_status() == 200
    # Reading the credential back shows no secret.
    r = root_api.get("/v1/credentials/" + c.id)
    assert "secret_access_key" not in r.json and "token" not in r.json


def test_rotation_explicit_zero_grace(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-only", [b], name="rot0")
    new = root_api.rotate(c.id, grace_seconds=0)
    assert s3_outcome(c.s3().get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert_allowed(s3_client(admin_server, c.id, new["secret_access_key"]).get_object,
                   Bucket=b, Key="k")


def test_rotation_with_grace_both_work(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-only", [b], name="rot-grace")
    new = root_api.rotate(c.id, grace_seconds=600)
    assert c.s3().get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    new_s3 = s3_client(admin_server, c.id, new["secret_access_key"])
    assert new_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    # A second rotation without grace ends the first one's grace.
    newer = root_api.rotate(c.id)
    assert s3_outcome(c.s3().get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert s3_outcome(new_s3.get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert_allowed(s3_client(admin_server, c.id, newer["secret_access_key"]).get_object,
                   Bucket=b, Key="k")


def test_rotation_grace_ends(admin_server, root_api, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    c = root_api.cred("object-read-only", [b], name="rot-short")
    new = root_api.rotate(c.id, grace_seconds=2)
    answered = utcnow()
    sleep_past(answered + datetime.timedelta(seconds=2), margin=0.5)
    assert s3_outcome(c.s3().get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    new_s3 = s3_client(admin_server, c.id, new["secret_access_key"])
    assert new_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert AdminApi(admin_server, new["token"]).self_status() == 200


def test_rotate_own_credential(admin_server, root_api):
    c = root_api.cred("admin-read-write", name="self-rotate")
    r = c.api().post("/v1/credentials/%s/rotate" % c.id, {})
    assert r.status == 200 and r.json["id"] == c.id, r
    assert c.api().self_status() == 401
    assert AdminApi(admin_server, r.json["token"]).self_status() == 200
