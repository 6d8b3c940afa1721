"""A 256 MiB streaming upload and download, compared bit for bit, on a server of its own
(so that its peak memory can be read afterwards)."""
import hashlib
import os
import time

import pytest

from conftest import cofferd_path
from s3util import GeneratedStream

SIZE = 256 << 20
MAX_RSS_KB = 64 << 10


def sanitizer_build():
    with open(cofferd_path(), "rb") as f:
        return b"__asan_init" in f.read()


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def compare_stream(body, gen):
    """Reads the streaming body in pieces and compares with the generator."""
    pos = 0
    md5 = hashlib.md5()
    while True:
        piece = body.read(1 << 20)
        if not piece:
            break
        expect = gen.read(len(piece))
        if piece != expect:
            for i, (a, b) in enumerate(zip(piece, expect)):
                if a != b:
                    raise AssertionError("first difference at byte %d" % (pos + i))
            raise AssertionError("short read at byte %d" % (pos + len(expect)))
        md5.update(piece)
        pos += len(piece)
    assert pos == gen.size, "got %d bytes, expected %d" % (pos, gen.size)
    return md5.hexdigest()


@pytest.mark.slow
def test_256mib_put_get(start_server):
    srv = start_server()
    c = srv.client()
    c.create_bucket(Bucket="large")
    src = GeneratedStream("large-256", SIZE)
    md5 = hashlib.md5()
    for i in range(-(-SIZE // src.BLOCK)):
        md5.update(src.block(i))
    r = c.put_object(Bucket="large", Key="big/object.bin", Body=src)
    assert r["ETag"] == '"%s"' % md5.hexdigest()
    h = c.head_object(Bucket="large", Key="big/object.bin")
    assert h["ContentLength"] == SIZE
    g = c.get_object(Bucket="large", Key="big/object.bin")
    assert g["ContentLength"] == SIZE
    assert compare_stream(g["Body"], GeneratedStream("large-256", SIZE)) == md5.hexdigest()
    # A range deep inside the object.
    off = SIZE - (3 << 20) - 12345
    g = c.get_object(Bucket="large", Key="big/object.bin",
                     Range="bytes=%d-%d" % (off, off + (2 << 20) - 1))
    ref = GeneratedStream("large-256", SIZE)
    ref.seek(off)
    assert g["Body"].read() == ref.read(2 << 20)
    if not sanitizer_build():
        # Bodies stream: the server never holds an object in memory.
        rss = peak_rss_kb(srv.proc.pid)
        assert rss is not None and rss < MAX_RSS_KB, "peak RSS %s KiB" % rss
    c.delete_object(Bucket="large", Key="big/object.bin")
    # The garbage collector removes the blob in the background, soon after the delete.
    deadline = time.monotonic() + 60
    while True:
        leftovers = []
        for dirpath, _, files in os.walk(srv.data_dir):
            for f in files:
                p = os.path.join(dirpath, f)
                try:
                    if os.path.getsize(p) >= SIZE // 2:
                        leftovers.append(p)
                except FileNotFoundError:  # removed while we looked
                    pass
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leftovers, "a deleted object's blob remains: %s" % leftovers
