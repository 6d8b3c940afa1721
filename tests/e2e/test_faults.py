"""Storage faults: a full disk and failing system calls.

Disk full: the data directory (blobs and the SQLite database) lives on a tmpfs of a few MiB
that the test mounts (root only; CI runs the suite as root). A write that does not fit must
fail with the S3 error InsufficientStorage (507), leave no partial object and no staged file,
keep every earlier object intact, and once objects are deleted (and the collector has freed
their bytes) writes work again without a restart.

I/O errors: tests/fault/faultshim.c, built here with cc and preloaded into cofferd, makes
write, fsync, rename or create fail at a chosen call under a chosen path; the control file is
rewritten between requests, so one server run takes many faults. The client must get a 5xx
error (or, for a failure after the metadata commit, a truthful 200), nothing partial may be
visible, nothing may stay in staging, and the server must keep serving.
"""
import hashlib
import os
import re
import sqlite3
import subprocess
import tempfile
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REPO, ROOT_SK, Server, _rmtree, cofferd_path, log_problems
from s3util import det_bytes

MiB = 1 << 20

# Lines the injected faults are expected to cause; any other ERROR line fails the test.
EXPECTED_ERROR = re.compile(r" ERROR (blob_fs: |meta: |s3: .* failed: )")


def fault_log_problems(text):
    return [p for p in log_problems(text, [ROOT_SK])
            if not (p.startswith("ERROR line: ") and EXPECTED_ERROR.search(p))]


def outcome(fn, **kw):
    """(HTTP status, S3 error code or None) of one boto3 call."""
    try:
        r = fn(**kw)
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def head_status(c, bucket, key):
    return outcome(c.head_object, Bucket=bucket, Key=key)[0]


def get_body(c, bucket, key):
    return c.get_object(Bucket=bucket, Key=key)["Body"].read()


def listing(c, bucket, prefix=""):
    out = {}
    token = None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        page = c.list_objects_v2(**kw)
        for o in page.get("Contents", []):
            out[o["Key"]] = o["Size"]
        if not page["IsTruncated"]:
            return out
        token = page["NextContinuationToken"]


def staged(srv, want=0, timeout=15):
    """The staging directory's entries, once there are `want` of them (or the timeout ran
    out): a failed request's staged file goes when the request is done, which may be just
    after its answer went out."""
    path = os.path.join(srv.data_dir, "staging")
    deadline = time.monotonic() + timeout
    while True:
        names = sorted(os.listdir(path))
        if len(names) == want or time.monotonic() > deadline:
            return names
        time.sleep(0.02)


INLINE_MAX = 16 << 10  # src/s3/s3_int.h CF_S3_INLINE_MAX


def blob_files(srv):
    found = []
    for dirpath, _, files in os.walk(os.path.join(srv.data_dir, "blobs")):
        found += files
    return sorted(found)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def wait_for(what, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.05)


def integrity_check(db_path):
    """PRAGMA integrity_check of a database no server has open."""
    con = sqlite3.connect(db_path)
    try:
        return [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()


class Rig:
    """Servers and tmpfs mounts of one test, torn down in the right order: servers first
    (nothing may hold the mount), then the mounts, even when the test failed."""

    def __init__(self, base):
        self.base = base
        self.servers = []
        self.mounts = []

    def mount_tmpfs(self, size):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (CI runs the e2e suite as root)")
        mnt = tempfile.mkdtemp(prefix="tmpfs-", dir=self.base)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs",
                            mnt], capture_output=True, text=True)
        if p.returncode != 0:
            pytest.fail("mount -t tmpfs failed (root without CAP_SYS_ADMIN?): %s"
                        % p.stderr.strip())
        self.mounts.append(mnt)
        return mnt

    def server(self, data_dir=None, env=None, args=()):
        workdir = tempfile.mkdtemp(prefix="srv-", dir=self.base)
        srv = Server(workdir, args=args, env=env, data_dir=data_dir)
        self.servers.append(srv)
        return srv.start()

    def close(self):
        problems = []
        try:
            for srv in self.servers:
                srv.stop()
                problems += ["server %d: %s" % (srv.id, p)
                             for p in srv.problems + fault_log_problems(srv.all_stderr())]
            if problems:
                problems += ["--- server %d log tail:\n%s" % (s.id, s.all_stderr()[-3000:])
                             for s in self.servers]
        finally:
            for srv in self.servers:
                srv.kill()
            for mnt in self.mounts:
                unmount(mnt)
            _rmtree(self.base)
        return problems


def unmount(mnt):
    for _ in range(50):
        if subprocess.run(["umount", mnt], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", mnt], capture_output=True)


@pytest.fixture
def rig(tmp_root, cofferd_bin):
    r = Rig(tempfile.mkdtemp(prefix="faults-", dir=tmp_root))
    yield r
    problems = r.close()
    if problems:
        pytest.fail("server problems:\n" + "\n".join(problems), pytrace=False)


def assert_full(st_code, what):
    assert st_code == (507, "InsufficientStorage"), \
        "%s on a full disk: expected 507 InsufficientStorage, got %r" % (what, st_code)


# ---------------------------------------------------------------- disk full

def test_disk_full_put_fails_cleanly_and_recovers_without_restart(rig):
    mnt = rig.mount_tmpfs("8m")
    srv = rig.server(data_dir=os.path.join(mnt, "data"))
    c = srv.client()
    c.create_bucket(Bucket="full")
    size = 300_000  # not a multiple of the page size
    stored = {}
    failed = None
    for i in range(64):
        key = "fill/%03d" % i
        body = det_bytes(key, size)
        got = outcome(c.put_object, Bucket="full", Key=key, Body=body)
        if got == (200, None):
            stored[key] = body
            continue
        assert_full(got, "PUT %s" % key)
        failed = key
        break
    assert failed is not None, "64 PUTs of %d bytes fit on an 8 MiB filesystem" % size
    assert len(stored) >= 8, "the disk filled after only %d objects" % len(stored)
    # Top it up with ever smaller objects, as a workload of many objects would: the disk is
    # then as full as writes can make it, and deletes must still work.
    small = {}
    for i in range(200):
        n = max(1000, 256_000 >> i)
        key = "top/%03d" % i
        body = det_bytes(key, n)
        got = outcome(c.put_object, Bucket="full", Key=key, Body=body)
        if got == (200, None):
            small[key] = body
            continue
        assert_full(got, "PUT %s (%d bytes)" % (key, n))
        if n == 1000:
            break

    # Nothing of the failed PUTs is visible or left behind.
    assert head_status(c, "full", failed) == 404
    assert listing(c, "full") == dict({k: size for k in stored},
                                      **{k: len(v) for k, v in small.items()})
    assert staged(srv) == []
    # Bodies up to INLINE_MAX live in the metadata store, not in blob files.
    assert len(blob_files(srv)) == len(stored) + sum(len(v) > INLINE_MAX for v in small.values())
    # A second attempt and a copy fail the same way, and cleanly.
    assert_full(outcome(c.put_object, Bucket="full", Key=failed, Body=det_bytes(failed, size)),
                "second PUT")
    first = sorted(stored)[0]
    assert_full(outcome(c.copy_object, Bucket="full", Key="copy",
                        CopySource={"Bucket": "full", "Key": first}), "CopyObject")
    assert head_status(c, "full", "copy") == 404
    assert staged(srv) == []
    # Reads still work, bit-exact.
    for k, body in dict(stored, **small).items():
        assert get_body(c, "full", k) == body, k

    # Deleting on the full disk works and, once the collector removed the blobs, frees space.
    before = free_bytes(mnt)
    gone = sorted(small) + sorted(stored)[::2]
    for k in gone:
        assert outcome(c.delete_object, Bucket="full", Key=k) == (204, None), k
        stored.pop(k, None)
    wait_for("the collector to remove the deleted objects' blobs",
             lambda: len(blob_files(srv)) == len(stored))
    assert free_bytes(mnt) >= before + (len(gone) - len(small)) * size * 0.9
    for k in gone:
        assert head_status(c, "full", k) == 404

    # Writes work again, same server process.
    body = det_bytes(failed, size)
    assert outcome(c.put_object, Bucket="full", Key=failed, Body=body) == (200, None)
    stored[failed] = body
    assert outcome(c.copy_object, Bucket="full", Key="copy",
                   CopySource={"Bucket": "full", "Key": failed}) == (200, None)
    stored["copy"] = body
    assert listing(c, "full") == {k: size for k in stored}
    for k, b in stored.items():
        assert get_body(c, "full", k) == b, k
    assert staged(srv) == []

    srv.stop()
    assert integrity_check(os.path.join(srv.data_dir, "meta.db")) == ["ok"]
    srv.start()  # the restarted server sees the same objects
    c = srv.client()
    for k, b in stored.items():
        assert get_body(c, "full", k) == b, k


def fill_to(path, leave):
    """Grows the file at path until the filesystem is full, then gives back `leave` bytes."""
    chunk = b"\0" * (64 << 10)
    with open(path, "ab") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    size = os.path.getsize(path)
    os.truncate(path, max(0, size - leave))


def test_disk_full_metadata_writes_fail_cleanly(rig):
    # Another file fills the filesystem to the brim, leaving 0 to 64 KiB: the metadata
    # commits (SQLite's WAL) now fail too. Every write must either succeed or answer 507 and
    # have no effect; afterwards the database is intact and everything works again.
    mnt = rig.mount_tmpfs("8m")
    srv = rig.server(data_dir=os.path.join(mnt, "data"))
    c = srv.client()
    c.create_bucket(Bucket="meta")
    model = {}
    for i in range(8):
        k = "base/%d" % i
        model[k] = det_bytes(k, 1000 + i)
        c.put_object(Bucket="meta", Key=k, Body=model[k])
    uploads = set()
    filler = os.path.join(mnt, "filler")
    answers = {}
    for step, pages in enumerate([0, 1, 2, 3, 4, 6, 8, 12, 16]):
        fill_to(filler, pages * 4096)
        new_key, old_key = "new/%d" % step, "base/%d" % (step % 8)
        ops = [
            ("put", new_key, det_bytes(new_key, 500)),
            ("put", old_key, det_bytes("v%d-%s" % (step, old_key), 700)),
            # Empty bodies write no byte: only the metadata commit can fail.
            ("put", "empty/%d" % step, b""),
            ("put", "base/%d" % ((step + 5) % 8), b""),
            ("delete", "base/%d" % ((step + 3) % 8), None),
            ("upload", "mp/%d" % step, None),
        ]
        for op, key, body in ops:
            if op == "put":
                got = outcome(c.put_object, Bucket="meta", Key=key, Body=body)
            elif op == "delete":
                got = outcome(c.delete_object, Bucket="meta", Key=key)
            else:
                try:
                    uid = c.create_multipart_upload(Bucket="meta", Key=key)["UploadId"]
                    uploads.add((key, uid))
                    got = (200, None)
                except ClientError as e:
                    got = (e.response["ResponseMetadata"]["HTTPStatusCode"],
                           e.response["Error"]["Code"])
            answers[got] = answers.get(got, 0) + 1
            if got[0] < 300:
                if op == "put":
                    model[key] = body
                elif op == "delete":
                    model.pop(key, None)
                continue
            assert_full(got, "%s %s with %d pages free" % (op, key, pages))
        assert staged(srv) == [], "staging not clean with %d pages free" % pages
    assert any(a[0] == 507 for a in answers), "no write failed: %r" % answers
    os.remove(filler)

    # Every answer told the truth, and the server works again without a restart.
    assert listing(c, "meta") == {k: len(v) for k, v in model.items()}
    for k, v in model.items():
        assert get_body(c, "meta", k) == v, k
    listed = {(u["Key"], u["UploadId"])
              for u in c.list_multipart_uploads(Bucket="meta").get("Uploads", [])}
    assert listed == uploads
    c.put_object(Bucket="meta", Key="after", Body=b"after")
    assert get_body(c, "meta", "after") == b"after"
    assert staged(srv) == []
    srv.stop()
    assert integrity_check(os.path.join(srv.data_dir, "meta.db")) == ["ok"]


def head_bucket(c, bucket):
    return outcome(c.head_bucket, Bucket=bucket)[0]


def fill_with_uploads(c, bucket):
    """PUTs until the server answers 507, then ever smaller objects until 1000 bytes fail:
    the disk is as full as S3 writes can make it."""
    for i in range(400):
        n = 300_000 if i < 64 else max(1000, 256_000 >> (i - 64))
        key = "fill/%03d" % i
        got = outcome(c.put_object, Bucket=bucket, Key=key, Body=det_bytes(key, n))
        if got == (200, None):
            continue
        assert_full(got, "PUT %s (%d bytes)" % (key, n))
        if n == 1000:
            return
    pytest.fail("the uploads never filled the disk")


def test_disk_full_admin_api(rig):
    """The credentials API on a full disk. Uploads leave a reserve free, so credential
    writes (above all a revocation) still work when S3 writes filled the disk. When something
    else fills it to the brim, each write either works or answers 507 insufficient_storage in
    JSON and changes nothing; temporary credentials (stateless) are still issued; once space
    is back everything works without a restart."""
    from admin_fixtures import ROOT_TOKEN, AdminApi
    mnt = rig.mount_tmpfs("8m")
    srv = rig.server(data_dir=os.path.join(mnt, "data"), env={"COFFER_ROOT_TOKEN": ROOT_TOKEN})
    api = AdminApi(srv)
    c = srv.client()
    c.create_bucket(Bucket="full")

    def create(name):
        return api.post("/v1/credentials", {"name": name, "permission": "object-read-write",
                                             "buckets": ["full"]})

    def s3_of(cred):
        return srv.client(access_key=cred["id"], secret=cred["secret_access_key"])

    def works(cred):
        return outcome(s3_of(cred).head_bucket, Bucket="full")[0] == 200

    keep = api.expect(create("keep"), 201)
    fill_with_uploads(c, "full")

    # Filled by uploads: the reserve takes credential and bucket writes.
    made = api.expect(create("on-full"), 201)
    assert works(made)
    made = dict(made, **api.expect(api.post("/v1/credentials/%s/rotate" % made["id"], {}), 200))
    assert works(made)
    api.expect(api.patch("/v1/credentials/" + made["id"], {"name": "renamed"}), 200)
    api.expect(api.delete("/v1/credentials/" + made["id"]), 200)
    assert not works(made)
    api.expect(api.post("/v1/buckets", {"name": "made-on-full"}), 201)
    api.expect(api.delete("/v1/buckets/made-on-full"), 204)

    # Filled to the brim by another file.
    filler = os.path.join(mnt, "filler")
    answers = {}
    left = []
    for step, pages in enumerate([0, 0, 1, 2, 4, 8]):
        fill_to(filler, pages * 4096)
        ids = {x["id"] for x in api.expect(api.get("/v1/credentials"), 200)["credentials"]}
        for what, r in (("create", create("brim-%d" % step)),
                        ("rotate", api.post("/v1/credentials/%s/rotate" % keep["id"], {})),
                        ("bucket", api.post("/v1/buckets", {"name": "brim-%d" % step}))):
            answers[(what, r.status)] = answers.get((what, r.status), 0) + 1
            if r.status == 507:
                assert r.code == "insufficient_storage", r
                assert "disk is full" in r.json["error"]["message"], r
            else:
                assert r.status in (200, 201), (what, pages, r)
            if what == "create":
                now = {x["id"] for x in api.expect(api.get("/v1/credentials"), 200)["credentials"]}
                assert now == (ids | {r.json["id"]} if r.status == 201 else ids), (pages, r)
            elif what == "rotate":
                if r.status == 200:
                    keep = dict(keep, **r.json)
                assert works(keep), "the credential's current secret stopped working"
            elif r.status == 201:
                d = api.delete("/v1/buckets/brim-%d" % step)
                assert d.status in (204, 507), d
                if d.status == 507:
                    assert head_bucket(c, "brim-%d" % step) == 200, "a failed delete deleted"
                    left.append("brim-%d" % step)
                else:
                    assert head_bucket(c, "brim-%d" % step) == 404
        # A temporary credential needs no disk.
        api.expect(api.post("/v1/temporary-credentials", {"ttl_seconds": 900}), 201)
        assert staged(srv) == []
    assert any(status == 507 for _, status in answers), answers
    os.remove(filler)

    # Space is back: writes work again, same process; a revocation acts at once.
    after = api.expect(create("after"), 201)
    assert works(after)
    for b in left:
        api.expect(api.delete("/v1/buckets/" + b), 204)
    api.expect(api.delete("/v1/credentials/" + keep["id"]), 200)
    assert not works(keep)
    srv.stop()
    assert integrity_check(os.path.join(srv.data_dir, "meta.db")) == ["ok"]


def test_disk_full_multipart_part(rig):
    mnt = rig.mount_tmpfs("16m")
    srv = rig.server(data_dir=os.path.join(mnt, "data"))
    c = srv.client()
    c.create_bucket(Bucket="mpu")
    ballast = det_bytes("ballast", 6 * MiB)
    c.put_object(Bucket="mpu", Key="ballast", Body=ballast)
    uid = c.create_multipart_upload(Bucket="mpu", Key="big")["UploadId"]
    parts = {}
    failed = None
    for n in range(1, 5):
        body = det_bytes("part%d" % n, 5 * MiB)
        try:
            r = c.upload_part(Bucket="mpu", Key="big", UploadId=uid, PartNumber=n, Body=body)
            parts[n] = (r["ETag"], body)
        except ClientError as e:
            assert_full((e.response["ResponseMetadata"]["HTTPStatusCode"],
                         e.response["Error"]["Code"]), "UploadPart %d" % n)
            failed = n
            break
    assert failed is not None and parts, "parts stored before the disk filled: %d" % len(parts)
    listed = c.list_parts(Bucket="mpu", Key="big", UploadId=uid).get("Parts", [])
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == \
        [(n, parts[n][0]) for n in sorted(parts)]
    assert staged(srv) == []
    assert get_body(c, "mpu", "ballast") == ballast

    c.delete_object(Bucket="mpu", Key="ballast")
    nblobs = len(parts)
    wait_for("the collector to remove the ballast's blob", lambda: len(blob_files(srv)) == nblobs)
    body = det_bytes("part%d" % failed, 5 * MiB)
    r = c.upload_part(Bucket="mpu", Key="big", UploadId=uid, PartNumber=failed, Body=body)
    parts[failed] = (r["ETag"], body)
    c.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": parts[n][0]} for n in sorted(parts)]})
    whole = b"".join(parts[n][1] for n in sorted(parts))
    got = get_body(c, "mpu", "big")
    assert hashlib.md5(got).digest() == hashlib.md5(whole).digest() and len(got) == len(whole)
    assert staged(srv) == []


# ---------------------------------------------------------------- injected I/O errors

@pytest.fixture(scope="session")
def faultshim(tmp_root):
    src = os.path.join(REPO, "tests", "fault", "faultshim.c")
    out = os.path.join(tmp_root, "faultshim.so")
    cc = os.environ.get("CC", "cc")
    p = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out,
                        src, "-ldl", "-lpthread"], capture_output=True, text=True)
    assert p.returncode == 0, "cannot build the fault shim:\n" + p.stderr
    return out


def preload_for(binary, shim):
    """LD_PRELOAD for the shim. A sanitizer build links the ASan runtime dynamically and
    insists it comes first: preload it ahead of the shim (its interceptors then call the
    shim's functions as the libc ones)."""
    libs = []
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(libasan\.so\S*) => (\S+)", line)
        if m:
            libs.append(m.group(2))
    return " ".join(libs + [shim])


def gc_queued(srv):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(srv.data_dir, "meta.db"), uri=True,
                          timeout=30)
    try:
        return con.execute("SELECT count(*) FROM gc_queue").fetchone()[0]
    finally:
        con.close()


class Faults:
    """The shim's control file: arm() replaces the rules, fired() lists the injected
    failures since."""

    def __init__(self, srv, ctl):
        self.srv = srv
        self.ctl = ctl

    def quiesce(self):
        """No write of the server's own may take the fault meant for the next request:
        the once-a-minute update of the credential's last use happens now, if due, and the
        collector has nothing left to remove."""
        self.srv.client().head_bucket(Bucket="faults")
        wait_for("the collector's queue to drain", lambda: gc_queued(self.srv) == 0)

    def arm(self, op, nth, prefix, errno="EIO", count=1):
        self.quiesce()
        if os.path.exists(self.ctl + ".log"):
            os.remove(self.ctl + ".log")
        tmp = self.ctl + ".tmp"
        with open(tmp, "w") as f:
            f.write("%s %d %d %s %s\n" % (op, nth, count, errno, prefix))
        os.replace(tmp, self.ctl)  # a new inode: the shim re-reads it and resets its counts

    def disarm(self):
        if os.path.exists(self.ctl):
            os.remove(self.ctl)

    def fired(self):
        try:
            with open(self.ctl + ".log") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


@pytest.fixture(scope="module")
def shim_server(tmp_root, cofferd_bin, faultshim):
    workdir = tempfile.mkdtemp(prefix="shim-", dir=tmp_root)
    ctl = os.path.join(workdir, "faults.ctl")
    srv = Server(workdir, env={"LD_PRELOAD": preload_for(cofferd_path(), faultshim),
                               "FAULTSHIM_CTL": ctl})
    srv.faults = Faults(srv, ctl)
    srv.start()
    srv.client().create_bucket(Bucket="faults")
    yield srv
    srv.faults.disarm()
    srv.stop()
    problems = srv.problems + fault_log_problems(srv.all_stderr())
    _rmtree(workdir)
    assert not problems, "\n".join(problems)


@pytest.fixture
def shim(shim_server):
    """The shim server, disarmed, restarted if it died; after the test it must be alive and
    serving, with no unexpected log line and nothing left in staging."""
    srv = shim_server
    srv.faults.disarm()
    if not srv.alive():
        srv.stop()
        srv.start()
    mark = srv.log_mark()
    yield srv
    srv.faults.disarm()
    problems = []
    if not srv.alive():
        problems.append("cofferd died during this test (exit %s)" % srv.proc.returncode)
    else:
        c = srv.client()
        try:
            c.put_object(Bucket="faults", Key="canary", Body=b"still serving")
            if get_body(c, "faults", "canary") != b"still serving":
                problems.append("the canary object reads back wrong")
        except Exception as e:  # noqa: BLE001 - reported
            problems.append("not serving after the test: %s" % e)
    problems += fault_log_problems(srv.log_since(mark))
    if problems:
        pytest.fail("server problems:\n" + "\n".join(problems) + "\n--- log tail:\n"
                    + srv.log_since(mark)[-3000:], pytrace=False)


def data_path(srv, *parts):
    return os.path.join(os.path.realpath(srv.data_dir), *parts)


# (op, nth, where, errno): where the injected call happens, relative to the data directory.
# Calls before the metadata commit must fail the request; the publish (rename into blobs/,
# then fsync of the blob's directory) comes after it, so the object exists from then on: its
# failure is logged and the blob served from staging until a restart publishes it.
BLOB_FAULTS = {
    "create": ("create", 1, "staging", "EIO", "fails"),
    "write": ("write", 1, "staging", "EIO", "fails"),
    "write-late": ("write", 3, "staging", "EIO", "fails"),
    "write-enospc": ("write", 1, "staging", "ENOSPC", "full"),
    "fsync": ("fsync", 1, "staging", "EIO", "fails"),
    "fsync-dir": ("fsync", 2, "staging", "EIO", "fails"),
    "rename": ("rename", 1, "staging", "EIO", "deferred"),
    "fsync-published": ("fsync", 1, "blobs", "EIO", "published"),
    "meta-write": ("write", 1, "meta.db-wal", "EIO", "fails"),
    "meta-fsync": ("fsync", 1, "meta.db-wal", "EIO", "fails"),
}


def check_answer(srv, expect, got, what):
    fired = srv.faults.fired()
    assert len(fired) == 1, "%s: the fault fired %d times: %r" % (what, len(fired), fired)
    if expect == "fails":
        assert got[0] >= 500 and got[1] == "InternalError", "%s: got %r" % (what, got)
    elif expect == "full":
        assert_full(got, what)
    else:
        assert got[0] == 200, "%s: the commit happened, so 200 was expected, got %r" % (what, got)


def check_staging(srv, expect, what):
    if expect == "deferred":
        left = staged(srv, 1)
        assert len(left) == 1, "%s: staging holds %r" % (what, left)
    else:
        left = staged(srv)
        assert left == [], "%s: staging holds %r" % (what, left)


def restart_publishes(srv):
    """After a deferred publish: a restart moves the staged blob into blobs/."""
    srv.faults.disarm()
    srv.restart()
    assert staged(srv) == []


def body_for(kind, name):
    # "inline" bodies live in the metadata store, so only its faults apply to them.
    size = {"large": 3 * MiB + 17, "small": INLINE_MAX + 1500, "inline": 1500}[kind]
    return det_bytes(name, size)


@pytest.mark.parametrize("kind,fault", [("small", f) for f in sorted(BLOB_FAULTS)
                                        if f != "write-late"]
                         + [("large", f) for f in sorted(BLOB_FAULTS)]
                         + [("inline", f) for f in sorted(BLOB_FAULTS) if f.startswith("meta-")])
def test_put_with_io_fault(shim, kind, fault):
    op, nth, where, errno, expect = BLOB_FAULTS[fault]
    c = shim.client()
    key = "put-%s-%s" % (kind, fault)
    old = det_bytes("old-" + key, 2000)
    c.put_object(Bucket="faults", Key=key, Body=old)  # an overwrite: the old bytes must stay
    new = body_for(kind, key)
    shim.faults.arm(op, nth, data_path(shim, where), errno)
    got = outcome(c.put_object, Bucket="faults", Key=key, Body=new)
    shim.faults.disarm()
    check_answer(shim, expect, got, "PUT with %s" % fault)
    check_staging(shim, expect, fault)
    want = old if expect in ("fails", "full") else new
    assert get_body(c, "faults", key) == want
    if expect == "deferred":
        restart_publishes(shim)
        assert get_body(shim.client(), "faults", key) == want
    # The same request without a fault works.
    c = shim.client()
    c.put_object(Bucket="faults", Key=key, Body=new)
    assert get_body(c, "faults", key) == new


@pytest.mark.parametrize("fault", sorted(BLOB_FAULTS))
def test_upload_part_with_io_fault(shim, fault):
    op, nth, where, errno, expect = BLOB_FAULTS[fault]
    c = shim.client()
    key = "part-" + fault
    uid = c.create_multipart_upload(Bucket="faults", Key=key)["UploadId"]
    p1 = det_bytes(key + "/1", 5 * MiB)
    e1 = c.upload_part(Bucket="faults", Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    p2 = det_bytes(key + "/2", 1 * MiB + 5)
    shim.faults.arm(op, nth, data_path(shim, where), errno)
    try:
        r = c.upload_part(Bucket="faults", Key=key, UploadId=uid, PartNumber=2, Body=p2)
        got = (r["ResponseMetadata"]["HTTPStatusCode"], None)
    except ClientError as e:
        got = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
    shim.faults.disarm()
    check_answer(shim, expect, got, "UploadPart with %s" % fault)
    check_staging(shim, expect, fault)
    listed = [(p["PartNumber"], p["Size"])
              for p in c.list_parts(Bucket="faults", Key=key, UploadId=uid).get("Parts", [])]
    if expect in ("fails", "full"):
        assert listed == [(1, len(p1))]
    else:
        assert listed == [(1, len(p1)), (2, len(p2))]
    if expect == "deferred":
        restart_publishes(shim)
        c = shim.client()
    e2 = c.upload_part(Bucket="faults", Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    c.complete_multipart_upload(Bucket="faults", Key=key, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert get_body(c, "faults", key) == p1 + p2
    c.delete_object(Bucket="faults", Key=key)


@pytest.mark.parametrize("fault", ["meta-write", "meta-fsync"])
def test_complete_upload_with_io_fault(shim, fault):
    # CompleteMultipartUpload writes no bytes, only metadata.
    op, nth, where, errno, expect = BLOB_FAULTS[fault]
    c = shim.client()
    key = "complete-" + fault
    c.put_object(Bucket="faults", Key=key, Body=b"previous")
    uid = c.create_multipart_upload(Bucket="faults", Key=key)["UploadId"]
    p1 = det_bytes(key + "/1", 5 * MiB)
    p2 = det_bytes(key + "/2", 100)
    e1 = c.upload_part(Bucket="faults", Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = c.upload_part(Bucket="faults", Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}
    shim.faults.arm(op, nth, data_path(shim, where), errno)
    got = outcome(c.complete_multipart_upload, Bucket="faults", Key=key, UploadId=uid,
                  MultipartUpload=parts)
    shim.faults.disarm()
    check_answer(shim, expect, got, "CompleteMultipartUpload with %s" % fault)
    assert get_body(c, "faults", key) == b"previous"
    assert len(c.list_parts(Bucket="faults", Key=key, UploadId=uid)["Parts"]) == 2
    c.complete_multipart_upload(Bucket="faults", Key=key, UploadId=uid, MultipartUpload=parts)
    assert get_body(c, "faults", key) == p1 + p2
    assert staged(shim) == []
    c.delete_object(Bucket="faults", Key=key)


@pytest.mark.parametrize("fault", sorted(BLOB_FAULTS))
def test_copy_with_io_fault(shim, fault):
    op, nth, where, errno, expect = BLOB_FAULTS[fault]
    c = shim.client()
    src = "copy-src-" + fault
    dst = "copy-dst-" + fault
    body = det_bytes(src, 2 * MiB + 3)
    c.put_object(Bucket="faults", Key=src, Body=body)
    shim.faults.arm(op, nth, data_path(shim, where), errno)
    got = outcome(c.copy_object, Bucket="faults", Key=dst,
                  CopySource={"Bucket": "faults", "Key": src})
    shim.faults.disarm()
    check_answer(shim, expect, got, "CopyObject with %s" % fault)
    check_staging(shim, expect, fault)
    if expect in ("fails", "full"):
        assert head_status(c, "faults", dst) == 404
    else:
        assert get_body(c, "faults", dst) == body
    if expect == "deferred":
        restart_publishes(shim)
        c = shim.client()
        assert get_body(c, "faults", dst) == body
    assert get_body(c, "faults", src) == body
    c.copy_object(Bucket="faults", Key=dst, CopySource={"Bucket": "faults", "Key": src})
    assert get_body(c, "faults", dst) == body


def test_delete_with_metadata_fault(shim):
    # A DELETE whose commit fails leaves the object; the blob is not removed under it.
    c = shim.client()
    body = det_bytes("del", 10_000)
    c.put_object(Bucket="faults", Key="del", Body=body)
    for op in ("write", "fsync"):
        shim.faults.arm(op, 1, data_path(shim, "meta.db-wal"))
        got = outcome(c.delete_object, Bucket="faults", Key="del")
        shim.faults.disarm()
        check_answer(shim, "fails", got, "DELETE with a failing WAL %s" % op)
        assert get_body(c, "faults", "del") == body
    assert outcome(c.delete_object, Bucket="faults", Key="del") == (204, None)
    assert head_status(c, "faults", "del") == 404


def test_shim_leaves_other_paths_alone(shim):
    # The rules match paths: a fault armed elsewhere never fires on the data directory.
    c = shim.client()
    shim.faults.arm("write", 1, "/nonexistent/elsewhere", count=0)
    c.put_object(Bucket="faults", Key="elsewhere", Body=b"x" * 100_000)
    assert shim.faults.fired() == []
    assert get_body(c, "faults", "elsewhere") == b"x" * 100_000
