"""Crash safety: kill -9 during concurrent PUTs, restart on the same data directory, and
check that every acknowledged object reads back bit-exact, nothing partial is listed and
the staging area was cleaned up."""
import hashlib
import os
import random
import threading
import time

import pytest

from conftest import make_client
from s3util import det_bytes

THREADS = 8
ACKED_BEFORE_KILL = 60


def size_for(key):
    r = random.Random(key)
    # mostly small, some up to 2 MiB so that a kill often lands mid-body
    return r.randrange(1, 64 << 10) if r.random() < 0.6 else r.randrange(64 << 10, 2 << 20)


def data_for(key):
    return det_bytes(key, size_for(key))


def staging_dirs(data_dir):
    found = []
    for dirpath, dirnames, _ in os.walk(data_dir):
        for d in dirnames:
            if d == "staging":
                found.append(os.path.join(dirpath, d))
    return found


def put_until_killed(srv, prefix):
    """Runs THREADS writers until ACKED_BEFORE_KILL PUTs were acknowledged, then SIGKILLs
    the server with the writers still busy. Returns (acked keys, attempted keys)."""
    client = make_client(srv.endpoint)
    acked, attempted = set(), set()
    lock = threading.Lock()
    stop = threading.Event()

    def writer(i):
        j = 0
        while not stop.is_set():
            key = "%s/t%d/%05d" % (prefix, i, j)
            j += 1
            data = data_for(key)
            with lock:
                attempted.add(key)
            try:
                r = client.put_object(Bucket="crash", Key=key, Body=data)
            except Exception:  # the server died under us: this PUT is unacknowledged
                return
            assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
            with lock:
                acked.add(key)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    while True:
        with lock:
            n = len(acked)
        if n >= ACKED_BEFORE_KILL or time.monotonic() > deadline or not srv.alive():
            break
        time.sleep(0.005)
    srv.kill()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= ACKED_BEFORE_KILL, "only %d PUTs acknowledged" % len(acked)
    return acked, attempted


def verify_after_restart(srv, acked, attempted, prefix):
    c = make_client(srv.endpoint)
    listed = []
    token = None
    while True:
        kw = {"Bucket": "crash", "Prefix": prefix + "/"}
        if token:
            kw["ContinuationToken"] = token
        page = c.list_objects_v2(**kw)
        listed += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    listed_keys = {k for k, _ in listed}
    missing = sorted(acked - listed_keys)
    assert not missing, "acknowledged PUTs lost: %s" % missing[:10]
    unknown = sorted(listed_keys - attempted)
    assert not unknown, "listed keys that were never written: %s" % unknown[:10]
    for key, size in listed:
        data = data_for(key)
        assert size == len(data), "%s listed with %d bytes, wrote %d" % (key, size, len(data))
        g = c.get_object(Bucket="crash", Key=key)
        body = g["Body"].read()
        assert body == data, "%s reads back %d bytes, not what was written (%s)" % (
            key, len(body), "acknowledged" if key in acked else "in flight")
        assert g["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    return len(listed)


@pytest.mark.slow
def test_kill9_during_concurrent_puts(start_server):
    srv = start_server()
    make_client(srv.endpoint).create_bucket(Bucket="crash")
    for cycle in range(2):
        prefix = "cycle%d" % cycle
        acked, attempted = put_until_killed(srv, prefix)
        srv.start()  # same data directory
        verify_after_restart(srv, acked, attempted, prefix)
        dirs = staging_dirs(srv.data_dir)
        assert dirs, "no staging directory under %s" % srv.data_dir
        for d in dirs:
            assert os.listdir(d) == [], "staging not cleaned after restart: %s" % os.listdir(d)
    # Objects from the first cycle survived the second crash too.
    c = make_client(srv.endpoint)
    page = c.list_objects_v2(Bucket="crash", Prefix="cycle0/", MaxKeys=5)
    for o in page.get("Contents", []):
        assert c.get_object(Bucket="crash", Key=o["Key"])["Body"].read() == data_for(o["Key"])


@pytest.mark.slow
def test_kill9_during_overwrites_keeps_old_or_new(start_server):
    # Overwrites of existing keys interrupted by kill -9: each key holds its old or its
    # new bytes, whole.
    srv = start_server()
    c = make_client(srv.endpoint)
    c.create_bucket(Bucket="crash")
    keys = ["ow/%02d" % i for i in range(THREADS)]
    old = {k: det_bytes("old-" + k, 300_000 + 1000 * i) for i, k in enumerate(keys)}
    for k in keys:
        c.put_object(Bucket="crash", Key=k, Body=old[k])
    new = {k: det_bytes("new-" + k, 900_000 + 1000 * i) for i, k in enumerate(keys)}
    started = threading.Barrier(THREADS + 1)

    def writer(i):
        k = keys[i]
        started.wait()
        try:
            for _ in range(50):
                c.put_object(Bucket="crash", Key=k, Body=new[k])
        except Exception:
            pass

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.3)  # let the overwrites get going; not an assertion
    srv.kill()
    for t in threads:
        t.join()
    srv.start()
    c = make_client(srv.endpoint)
    for k in keys:
        body = c.get_object(Bucket="crash", Key=k)["Body"].read()
        assert body in (old[k], new[k]), "%s: %d bytes, neither old nor new" % (k, len(body))
    for d in staging_dirs(srv.data_dir):
        assert os.listdir(d) == []
