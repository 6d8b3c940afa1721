"""Atomic visibility under concurrency: overwrites and deletes racing GETs never show a
mix of versions or a truncated body."""
import hashlib
import threading

from botocore.exceptions import ClientError

from s3util import det_bytes, run_threads

WRITERS = 50
READERS = 6
ROUNDS = 3


def versions(tag, n):
    # Different sizes, so a mix of two versions or a truncation shows in the length too.
    return [det_bytes("%s-%d" % (tag, i), 20_000 + 7919 * i) for i in range(n)]


def test_concurrent_overwrites_are_atomic(server, s3, bucket):
    vs = versions("ow", WRITERS)
    by_md5 = {hashlib.md5(v).hexdigest(): i for i, v in enumerate(vs)}
    s3.put_object(Bucket=bucket, Key="hot", Body=vs[0])
    done = threading.Event()
    reads = []
    lock = threading.Lock()

    def writer(i):
        for _ in range(ROUNDS):
            r = s3.put_object(Bucket=bucket, Key="hot", Body=vs[i])
            assert r["ETag"] == '"%s"' % hashlib.md5(vs[i]).hexdigest()

    def reader(i):
        n = 0
        while not done.is_set() or n < 5:
            g = s3.get_object(Bucket=bucket, Key="hot")
            body = g["Body"].read()
            md5 = hashlib.md5(body).hexdigest()
            assert md5 in by_md5, "GET returned a body that is no written version " \
                                  "(%d bytes)" % len(body)
            assert g["ETag"] == '"%s"' % md5, "ETag does not describe the body returned"
            assert g["ContentLength"] == len(body)
            n += 1
            if n >= 2000:
                break
        with lock:
            reads.append(n)

    errs = []

    def guarded(i):
        try:
            reader(i)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errs.append(e)

    readers = [threading.Thread(target=guarded, args=(i,)) for i in range(READERS)]
    for t in readers:
        t.start()
    try:
        run_threads(WRITERS, writer)
    finally:
        done.set()
        for t in readers:
            t.join()
    if errs:
        raise errs[0]
    assert sum(reads) >= READERS * 5
    final = s3.get_object(Bucket=bucket, Key="hot")["Body"].read()
    assert hashlib.md5(final).hexdigest() in by_md5
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_delete_racing_get_never_truncates(server, s3, bucket):
    vs = versions("del", 4)
    by_md5 = {hashlib.md5(v).hexdigest() for v in vs}
    done = threading.Event()
    stats = {"ok": 0, "missing": 0}
    lock = threading.Lock()

    def churn(i):
        for r in range(40):
            s3.put_object(Bucket=bucket, Key="churn", Body=vs[(i + r) % len(vs)])
            s3.delete_object(Bucket=bucket, Key="churn")

    def reader(i):
        while not done.is_set():
            try:
                g = s3.get_object(Bucket=bucket, Key="churn")
            except ClientError as e:
                assert e.response["Error"]["Code"] == "NoSuchKey", e.response
                with lock:
                    stats["missing"] += 1
                continue
            body = g["Body"].read()
            assert hashlib.md5(body).hexdigest() in by_md5, \
                "truncated or mixed body of %d bytes" % len(body)
            assert len(body) == g["ContentLength"]
            with lock:
                stats["ok"] += 1

    errs = []

    def guarded(i):
        try:
            reader(i)
        except BaseException as e:  # noqa: BLE001
            errs.append(e)
            done.set()

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        run_threads(2, churn)
    finally:
        done.set()
        for t in threads:
            t.join()
    if errs:
        raise errs[0]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_many_parallel_distinct_puts(server, s3, bucket):
    def put(i):
        for j in range(10):
            s3.put_object(Bucket=bucket, Key="p/%02d/%02d" % (i, j),
                          Body=det_bytes("par-%d-%d" % (i, j), 1000 + i * 10 + j))

    run_threads(16, put)
    keys = []
    token = None
    while True:
        kw = {"Bucket": bucket, "Prefix": "p/"}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        keys += [o["Key"] for o in page["Contents"]]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert keys == sorted("p/%02d/%02d" % (i, j) for i in range(16) for j in range(10))
    for i in (0, 7, 15):
        assert s3.get_object(Bucket=bucket, Key="p/%02d/09" % i)["Body"].read() == \
            det_bytes("par-%d-%d" % (i, 9), 1000 + i * 10 + 9)


def test_if_none_match_race_has_one_winner(raw, s3, bucket):
    """Of 50 concurrent PUTs with If-None-Match: * to one new key, exactly one succeeds; the
    others get 412 PreconditionFailed, and the stored object is the winner's, whole."""
    bodies = versions("inm", WRITERS)
    results = [None] * WRITERS

    def put(i):
        r = raw.request("PUT", "/%s/once" % bucket, headers={"If-None-Match": "*"},
                        body=bodies[i])
        results[i] = (r.status, r.code)

    run_threads(WRITERS, put)
    winners = [i for i, r in enumerate(results) if r[0] == 200]
    assert len(winners) == 1, results
    assert all(r == (412, "PreconditionFailed") for i, r in enumerate(results)
               if i != winners[0]), results
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == bodies[winners[0]]


def test_if_match_compare_and_swap(raw, s3, bucket):
    """If-Match: "etag" writes only over that version: of 20 writers racing from the same
    version, exactly one swaps it."""
    first = s3.put_object(Bucket=bucket, Key="cas", Body=b"v0")["ETag"]
    bodies = versions("cas", 20)
    results = [None] * 20

    def put(i):
        r = raw.request("PUT", "/%s/cas" % bucket, headers={"If-Match": first}, body=bodies[i])
        results[i] = r.status

    run_threads(20, put)
    assert results.count(200) == 1 and results.count(412) == 19, results
    got = s3.get_object(Bucket=bucket, Key="cas")["Body"].read()
    assert got == bodies[results.index(200)]
