"""Crash loop: 20 rounds of kill -9 at a random moment of a mixed load, on one data directory.

Each round restarts cofferd and checks, before any request, what start-up recovery left on
disk: nothing in staging, every blob file named by the metadata (no orphan), every blob the
metadata names present, the garbage queue drained, and PRAGMA integrity_check ok (read-only,
beside the running server). Then, through S3 and the admin API: every acknowledged write reads
back bit-exact, every acknowledged delete stays deleted, acknowledged uploads and parts are
there, acknowledged credentials work with their latest secret and acknowledged revocations
hold. Then the load runs again (PUT new, overwrite, DELETE, CopyObject, multipart uploads
created, filled, completed and aborted, credentials created, rotated and revoked) until the
next kill -9.

An operation is acknowledged when the client got its 2xx. One in flight at the kill may have
landed or not: the key then has several possible values (each thread owns its keys, so there
is at most one such operation per key), and what the restarted server shows must be one of
them; it is the key's value from then on. test_crash.py has the simpler single-kill cases.
COFFER_CRASH_SEED=N replays another random sequence (the kills land by the clock anyway).
"""
import hashlib
import os
import random
import re
import sqlite3
import subprocess
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from admin_fixtures import ROOT_TOKEN, AdminApi
from conftest import cofferd_path, make_client
from s3util import det_bytes

ROUNDS = 20
BUCKET = "crashloop"
MiB = 1 << 20


def sanitized(binary):
    """Is this the ASan build (slower: a lighter load per round)?"""
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libasan" in p.stdout or "asan" in binary


SAN = sanitized(cofferd_path())
OBJECT_THREADS = 3 if SAN else 4
KEYS_PER_THREAD = 8
KILL_AFTER_S = (0.3, 2.0)
BIG_PARTS = 0.05 if SAN else 0.15  # share of uploads with a 5 MiB first part


# ---------------------------------------------------------------- values

def value_bytes(value):
    """A value is a tuple of (seed, size) pieces (one per part; one for a PUT)."""
    return b"".join(det_bytes(seed, size) for seed, size in value)


_digests = {}


def value_digest(value):
    if value not in _digests:
        _digests[value] = hashlib.md5(value_bytes(value)).hexdigest()
    return _digests[value]


def value_size(value):
    return sum(size for _, size in value)


class Disconnected(Exception):
    """The server went away mid-request: the operation's outcome is unknown."""


def call(fn, **kw):
    """fn(**kw); Disconnected if the connection failed; ClientError (the server answered
    with an error) propagates."""
    try:
        return fn(**kw)
    except ClientError:
        raise
    except Exception as e:  # botocore/urllib3 connection errors of every kind
        raise Disconnected(repr(e)) from e


def error_code(e):
    return e.response["Error"]["Code"]


# ---------------------------------------------------------------- the model

class Model:
    """What the test knows. possible[key]: the values the key may hold (None: absent)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.possible = {}
        # upload id -> {"key", "parts": {n: (etag, piece)}, "inflight_part": n or None,
        #               "ending": None | "complete" | "abort" (in flight), "value"}
        self.uploads = {}
        self.creating_uploads = set()  # keys whose CreateMultipartUpload was in flight
        # credential id -> {"secret": the latest acknowledged one, "rotating": a rotation's
        #                   answer was lost, "revoked": True, False or None (in flight)}
        self.creds = {}
        self.revoked = set()  # acknowledged and checked once
        self.problems = []
        self.counts = {}

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def problem(self, text):
        with self.lock:
            self.problems.append(text)


class ObjectWorker:
    def __init__(self, model, client, tid, rnd, rnd_round):
        self.m = model
        self.c = client
        self.tid = tid
        self.rnd = rnd
        self.round = rnd_round
        self.seq = 0

    def seed(self):
        self.seq += 1
        return "r%d-t%d-%d" % (self.round, self.tid, self.seq)

    def size(self):
        x = self.rnd.random()
        if x < 0.6:
            return self.rnd.randrange(0, 64 << 10)
        if x < 0.9:
            return self.rnd.randrange(64 << 10, 1 << 20)
        return self.rnd.randrange(1 << 20, 3 << 20)

    def key(self):
        return "t%d/k%d" % (self.tid, self.rnd.randrange(KEYS_PER_THREAD))

    def run(self, stop):
        try:
            while not stop.is_set():
                x = self.rnd.random()
                if x < 0.45:
                    self.put()
                elif x < 0.65:
                    self.delete()
                elif x < 0.75:
                    self.copy()
                else:
                    self.multipart()
        except Disconnected:
            return
        except ClientError as e:
            self.m.problem("thread %d: unexpected S3 error %s: %s" % (
                self.tid, error_code(e), e.response["Error"].get("Message")))
        except Exception as e:  # noqa: BLE001 - a test bug must not hang the round
            self.m.problem("thread %d: %r" % (self.tid, e))

    # Each write: note the new value as possible before sending, make it the only one on 2xx.
    def write(self, key, value, fn, **kw):
        with self.m.lock:
            self.m.possible.setdefault(key, {None}).add(value)
        try:
            call(fn, **kw)
        except Disconnected:
            self.m.count("in flight at the kill")
            raise  # the key stays uncertain
        with self.m.lock:
            self.m.possible[key] = {value}
        self.m.count(fn.__name__)

    def put(self):
        key = self.key()
        value = ((self.seed(), self.size()),)
        self.write(key, value, self.c.put_object, Bucket=BUCKET, Key=key,
                   Body=value_bytes(value))

    def delete(self):
        key = self.key()
        self.write(key, None, self.c.delete_object, Bucket=BUCKET, Key=key)

    def copy(self):
        src, dst = self.key(), self.key()
        with self.m.lock:
            vals = self.m.possible.get(src, {None})
            value = next(iter(vals)) if len(vals) == 1 else None
        if value is None or src == dst:
            return
        self.write(dst, value, self.c.copy_object, Bucket=BUCKET, Key=dst,
                   CopySource={"Bucket": BUCKET, "Key": src})

    def multipart(self):
        key = self.key()
        with self.m.lock:
            self.m.creating_uploads.add(key)
        uid = call(self.c.create_multipart_upload, Bucket=BUCKET, Key=key)["UploadId"]
        up = {"key": key, "parts": {}, "inflight_part": None, "ending": None}
        with self.m.lock:
            self.m.creating_uploads.discard(key)
            self.m.uploads[uid] = up
        if self.rnd.random() < BIG_PARTS:
            sizes = [5 * MiB, self.rnd.randrange(1, 100_000)]
        else:
            sizes = [self.rnd.randrange(1, 300_000)]
        for n, size in enumerate(sizes, 1):
            piece = (self.seed(), size)
            with self.m.lock:
                up["inflight_part"] = n
            r = call(self.c.upload_part, Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n,
                     Body=det_bytes(*piece))
            self.m.count("upload_part")
            with self.m.lock:
                up["parts"][n] = (r["ETag"], piece)
                up["inflight_part"] = None
        if self.rnd.random() < 0.15:
            with self.m.lock:
                up["ending"] = "abort"
            call(self.c.abort_multipart_upload, Bucket=BUCKET, Key=key, UploadId=uid)
            self.m.count("abort_multipart_upload")
            with self.m.lock:
                del self.m.uploads[uid]
            return
        value = tuple(up["parts"][n][1] for n in sorted(up["parts"]))
        with self.m.lock:
            up["ending"] = "complete"
            up["value"] = value
        self.write(key, value, self.c.complete_multipart_upload, Bucket=BUCKET, Key=key,
                   UploadId=uid, MultipartUpload={"Parts": [
                       {"PartNumber": n, "ETag": up["parts"][n][0]} for n in sorted(up["parts"])]})
        with self.m.lock:
            del self.m.uploads[uid]


class CredWorker:
    """Creates, rotates and revokes credentials scoped to the bucket through the admin API."""

    def __init__(self, model, api, rnd):
        self.m = model
        self.api = api
        self.rnd = rnd

    def run(self, stop):
        try:
            while not stop.is_set():
                with self.m.lock:
                    live = [i for i, c in self.m.creds.items() if c["revoked"] is False]
                x = self.rnd.random()
                if len(live) < 3 or (x < 0.4 and len(live) < 10):
                    self.create()
                elif x < 0.75:
                    self.rotate(self.rnd.choice(live))
                else:
                    self.revoke(self.rnd.choice(live))
                time.sleep(0.03)
        except Disconnected:
            return
        except Exception as e:  # noqa: BLE001
            self.m.problem("credential thread: %r" % e)

    def request(self, method, path, body=None):
        try:
            r = self.api.request(method, path, body)
        except requests.RequestException as e:
            raise Disconnected(repr(e)) from e
        return r

    def create(self):
        r = self.request("POST", "/v1/credentials", {
            "name": "crash", "permission": "object-read-write", "buckets": [BUCKET]})
        if r.status != 201:
            self.m.problem("credential create answered %r" % r)
            return
        self.m.count("credential create")
        with self.m.lock:
            self.m.creds[r.json["id"]] = {"secret": r.json["secret_access_key"],
                                          "revoked": False, "rotating": False}

    def rotate(self, cid):
        with self.m.lock:
            cred = self.m.creds[cid]
            cred["rotating"] = True  # if the answer is lost, the new secret is unknown
        r = self.request("POST", "/v1/credentials/%s/rotate" % cid, {"grace_seconds": 0})
        if r.status != 200:
            self.m.problem("credential rotate answered %r" % r)
            return
        self.m.count("credential rotate")
        with self.m.lock:
            cred["secret"] = r.json["secret_access_key"]
            cred["rotating"] = False

    def revoke(self, cid):
        with self.m.lock:
            cred = self.m.creds[cid]
            cred["revoked"] = None  # in flight
        r = self.request("DELETE", "/v1/credentials/" + cid)
        if r.status != 200:
            self.m.problem("credential revoke answered %r" % r)
            return
        self.m.count("credential revoke")
        with self.m.lock:
            cred["revoked"] = True


# ---------------------------------------------------------------- checks after a restart

def disk_state(srv):
    """Problems with what start-up recovery left on disk (read while the server is idle)."""
    problems = []
    data = srv.data_dir
    staging = sorted(os.listdir(os.path.join(data, "staging")))
    if staging:
        problems.append("staging not empty after start-up: %s" % staging[:10])
    files = {}
    for dirpath, _, names in os.walk(os.path.join(data, "blobs")):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), os.path.join(data, "blobs"))
            if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", rel) or \
                    rel[:2] != n[:2] or rel[3:5] != n[2:4]:
                problems.append("stray file under blobs/: %s" % rel)
            files[n] = rel
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "meta.db"), uri=True,
                          timeout=30)
    try:
        ok = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if ok != ["ok"]:
            problems.append("integrity_check: %s" % ok[:10])
        refs = {r[0] for r in con.execute(
            "SELECT blob_id FROM objects WHERE blob_id IS NOT NULL AND blob_id != '' "
            "UNION SELECT blob_id FROM segments UNION SELECT blob_id FROM parts")}
        queued = {r[0] for r in con.execute("SELECT blob_id FROM gc_queue")}
    finally:
        con.close()
    orphans = sorted(set(files) - refs)
    if orphans:
        problems.append("%d orphan blob files (no metadata names them): %s"
                        % (len(orphans), orphans[:5]))
    missing = sorted(refs - set(files))
    if missing:
        problems.append("%d blobs named by the metadata are missing: %s"
                        % (len(missing), missing[:5]))
    if queued:
        problems.append("gc_queue not drained by start-up: %s" % sorted(queued)[:5])
    return problems, len(files)


def check_objects(m, c):
    """Every key holds one of its possible values; the listing agrees. Collapses the model."""
    listed = {}
    token = None
    while True:
        kw = {"Bucket": BUCKET}
        if token:
            kw["ContinuationToken"] = token
        page = c.list_objects_v2(**kw)
        for o in page.get("Contents", []):
            listed[o["Key"]] = o["Size"]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    for key in sorted(set(listed) - set(m.possible)):
        m.problems.append("%s is listed but was never written" % key)
    for key, vals in sorted(m.possible.items()):
        try:
            body = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except ClientError as e:
            if error_code(e) != "NoSuchKey":
                raise
            body = None
        if body is None:
            seen = None
        else:
            d = hashlib.md5(body).hexdigest()
            seen = next((v for v in vals if v is not None and value_size(v) == len(body)
                         and value_digest(v) == d), "unknown")
        if len(vals) > 1 and seen in vals:
            m.counts["uncertain resolved"] = m.counts.get("uncertain resolved", 0) + 1
        if seen == "unknown" or seen not in vals:
            what = "absent" if body is None else "%d bytes matching no write" % len(body)
            kinds = ["absent" if v is None else "%d bytes" % value_size(v) for v in vals]
            m.problems.append("%s is %s; acknowledged or in-flight values: %s"
                              % (key, what, kinds))
            continue
        if (key in listed) != (seen is not None) or \
                (seen is not None and listed[key] != value_size(seen)):
            m.problems.append("%s: the listing (%r) disagrees with GET" % (key, listed.get(key)))
        m.possible[key] = {seen}


def check_uploads(m, c):
    """Acknowledged uploads and parts survived; then every open upload is completed with its
    acknowledged parts (or aborted if it has none), so the next round starts with none."""
    listed = {}
    for u in c.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        listed[u["UploadId"]] = u["Key"]
    for uid, key in sorted(listed.items()):
        if uid not in m.uploads and key not in m.creating_uploads:
            m.problems.append("upload %s of %s is listed but was never created" % (uid, key))
    for uid, up in sorted(m.uploads.items()):
        key = up["key"]
        if uid not in listed:
            if up["ending"] is None:
                m.problems.append("acknowledged upload %s of %s is gone" % (uid, key))
            continue
        if up["ending"] == "complete" and up["value"] in m.possible[key]:
            m.problems.append("upload %s of %s is still listed, but its object is there"
                              % (uid, key))
        parts = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get("Parts", [])
        got = {p["PartNumber"]: p["ETag"] for p in parts}
        for n, (etag, _) in up["parts"].items():
            if got.get(n) != etag:
                m.problems.append("upload %s: acknowledged part %d is %r, not %s"
                                  % (uid, n, got.get(n), etag))
        extra = set(got) - set(up["parts"]) - {up["inflight_part"]}
        if extra:
            m.problems.append("upload %s has parts never uploaded: %s" % (uid, sorted(extra)))
    # Resolve: uploads whose end was in flight and did happen have left the listing.
    for uid, up in list(m.uploads.items()):
        if uid not in listed:
            del m.uploads[uid]
    for uid, key in sorted(listed.items()):
        up = m.uploads.pop(uid, None)
        if up is None or not up["parts"]:
            c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
            continue
        ns = sorted(up["parts"])
        # Non-last parts must be 5 MiB: keep the acknowledged prefix that qualifies.
        keep = [n for i, n in enumerate(ns) if i == len(ns) - 1 or up["parts"][n][1][1] >= 5 * MiB]
        value = tuple(up["parts"][n][1] for n in keep)
        c.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": up["parts"][n][0]} for n in keep]})
        m.counts["upload completed after a restart"] = \
            m.counts.get("upload completed after a restart", 0) + 1
        m.possible[key] = {value}
        if value_bytes(value) != c.get_object(Bucket=BUCKET, Key=key)["Body"].read():
            m.problems.append("upload %s completed after the restart reads back wrong" % uid)
    m.creating_uploads.clear()


def s3_list_as(srv, access_key, secret):
    """(status, S3 error code) of a one-key listing signed with these credentials (signed by
    hand: a boto3 client per credential costs a fifth of a second to make)."""
    r = srv.raw(access_key=access_key, secret=secret).request(
        "GET", "/" + BUCKET, query=[("list-type", "2"), ("max-keys", "1")])
    return r.status, r.code


def check_creds(m, srv, api, rnd):
    # Failed S3 logins count towards the lockout of 127.0.0.1 (--auth-fail-limit): try S3
    # with only a few of the credentials revoked this round.
    revoked_now = sorted(cid for cid, cred in m.creds.items() if cred["revoked"] is True)
    try_s3 = set(rnd.sample(revoked_now, min(2, len(revoked_now))))
    for cid, cred in sorted(m.creds.items()):
        exists = api.get("/v1/credentials/" + cid).status
        if cred["revoked"] is True:
            # Acknowledged: gone from the admin API and from S3.
            if exists != 404:
                m.problems.append("revoked credential %s is back (GET %d)" % (cid, exists))
            st, code = s3_list_as(srv, cid, cred["secret"]) if cid in try_s3 else (403, "")
            if st != 403 or code not in ("InvalidAccessKeyId", ""):
                m.problems.append("revoked credential %s: S3 answered %d %s" % (cid, st, code))
            m.revoked.add(cid)
            cred["checked"] = True
            continue
        if cred["revoked"] is None and exists == 404:
            cred["revoked"] = True  # the revocation in flight landed
            m.revoked.add(cid)
            cred["checked"] = True
            continue
        if exists != 200:
            m.problems.append("credential %s: GET answered %d" % (cid, exists))
            continue
        cred["revoked"] = False
        st, code = s3_list_as(srv, cid, cred["secret"])
        if st == 200:
            cred["rotating"] = False
        else:
            if code == "SignatureDoesNotMatch" and cred["rotating"]:
                # The rotation in flight landed: its secret is unknown, so retire the
                # credential (an acknowledged revocation, checked next round).
                api.revoke(cid)
                cred["revoked"] = True
            else:
                m.problems.append("credential %s: S3 refused its latest secret: %d %s"
                                  % (cid, st, code))
    # A few older revocations, every round (through the admin API: no failed S3 logins).
    for cid in rnd.sample(sorted(m.revoked), min(3, len(m.revoked))):
        if api.get("/v1/credentials/" + cid).status != 404:
            m.problems.append("revoked credential %s is back" % cid)
    for cid in list(m.creds):
        if m.creds[cid].get("checked"):
            del m.creds[cid]


# ---------------------------------------------------------------- the test

@pytest.mark.slow
def test_crash_loop(start_server):
    seed = int(os.environ.get("COFFER_CRASH_SEED", "20250101"))
    rnd = random.Random(seed)
    srv = start_server(env={"COFFER_ROOT_TOKEN": ROOT_TOKEN})
    make_client(srv.endpoint).create_bucket(Bucket=BUCKET)
    m = Model()
    stats = {"blobs": 0, "kills": 0}
    for rnd_no in range(ROUNDS):
        # -- load until a kill -9 at a random moment
        stop = threading.Event()
        c = make_client(srv.endpoint)
        api = AdminApi(srv, ROOT_TOKEN)
        workers = [ObjectWorker(m, c, t, random.Random(rnd.random()), rnd_no)
                   for t in range(OBJECT_THREADS)]
        workers.append(CredWorker(m, api, random.Random(rnd.random())))
        threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(*KILL_AFTER_S))
        srv.kill()
        stats["kills"] += 1
        stop.set()
        for t in threads:
            t.join(120)
            assert not t.is_alive(), "a load thread hung after the kill"
        assert not m.problems, "round %d (COFFER_CRASH_SEED=%d), before the kill:\n%s" % (
            rnd_no, seed, "\n".join(m.problems))

        # -- restart on the same data directory and check everything
        srv.start()
        problems, nblobs = disk_state(srv)
        stats["blobs"] = nblobs
        assert not problems, "round %d (COFFER_CRASH_SEED=%d), after start-up:\n%s" % (
            rnd_no, seed, "\n".join(problems))
        c = make_client(srv.endpoint)
        api = AdminApi(srv, ROOT_TOKEN)
        check_objects(m, c)
        check_uploads(m, c)
        check_creds(m, srv, api, rnd)
        assert not m.problems, "round %d (COFFER_CRASH_SEED=%d), after the restart:\n%s" % (
            rnd_no, seed, "\n".join(m.problems))

    # A clean stop leaves a database that a fresh connection finds intact.
    srv.stop()
    con = sqlite3.connect(os.path.join(srv.data_dir, "meta.db"))
    try:
        assert [r[0] for r in con.execute("PRAGMA integrity_check")] == ["ok"]
    finally:
        con.close()
    assert stats["kills"] == ROUNDS
    text = srv.all_stderr()
    assert not [x for x in [ROOT_TOKEN] + getattr(srv, "issued", []) if x in text], \
        "an issued secret or token appears in the server log"
    print("crash loop: %d rounds, %d blob files at the end; %s" % (
        ROUNDS, stats["blobs"], ", ".join("%s %d" % kv for kv in sorted(m.counts.items()))))
    # The load really ran and really was cut short.
    for what in ("put_object", "delete_object", "copy_object", "complete_multipart_upload",
                 "upload_part", "credential create", "credential rotate", "credential revoke",
                 "in flight at the kill"):
        assert m.counts.get(what, 0) > 0, "no %s in %d rounds: %r" % (what, ROUNDS, m.counts)
