"""The AWS CLI (Debian's awscli, /usr/bin/aws), unmodified, against cofferd."""
import filecmp
import json
import os

from conftest import aws_cli_path
from s3util import GeneratedStream, det_bytes

TREE = {
    "readme.txt": b"top level file\n",
    "docs/guide ü.md": det_bytes("guide", 5000),
    "docs/日本語/ファイル 1.txt": det_bytes("jp", 1234),
    "data/a+b.bin": det_bytes("ab", 70_000),
    "data/x%y.bin": det_bytes("xy", 10),
    "data/sp ace/n.txt": b"spaces\n",
    "data/empty.txt": b"",
    "emoji/😀.txt": b"smile\n",
}


def write_tree(root, tree, mtime=None):
    for rel, data in tree.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(p, (mtime, mtime))


def read_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_cli_mb_ls_rb(aws, s3, bucket_name):
    aws("s3", "mb", "s3://" + bucket_name)
    assert bucket_name in aws("s3", "ls").stdout
    assert s3.head_bucket(Bucket=bucket_name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    aws("s3", "rb", "s3://" + bucket_name)
    assert bucket_name not in aws("s3", "ls").stdout


def test_cli_cp_20mib_up_and_down(aws, s3, bucket, workdir):
    src = os.path.join(workdir, "big.bin")
    gen = GeneratedStream("cli-20", 20 << 20)
    with open(src, "wb") as f:
        while True:
            piece = gen.read(1 << 20)
            if not piece:
                break
            f.write(piece)
    aws("s3", "cp", src, "s3://%s/dir/big file.bin" % bucket)
    h = s3.head_object(Bucket=bucket, Key="dir/big file.bin")
    assert h["ContentLength"] == 20 << 20
    assert "-" not in h["ETag"]  # a single PUT, not multipart
    dst = os.path.join(workdir, "back.bin")
    aws("s3", "cp", "s3://%s/dir/big file.bin" % bucket, dst)
    assert filecmp.cmp(src, dst, shallow=False)
    out = aws("s3", "ls", "s3://%s/dir/" % bucket).stdout
    assert "big file.bin" in out and str(20 << 20) in out


def test_cli_cp_stdin_stdout(aws, bucket):
    import subprocess
    env = aws.env()
    cmd = [aws_cli_path(), "--endpoint-url", aws.server.endpoint, "s3", "cp", "-",
           "s3://%s/from-stdin" % bucket]
    p = subprocess.run(cmd, input=b"piped data", env=env, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    cmd = [aws_cli_path(), "--endpoint-url", aws.server.endpoint, "s3", "cp",
           "s3://%s/from-stdin" % bucket, "-"]
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"piped data"


def test_cli_sync_both_ways_and_rm(aws, s3, bucket, workdir):
    up = os.path.join(workdir, "up")
    down = os.path.join(workdir, "down")
    # mtimes in the past, so that a second sync has nothing to do whatever the clock.
    write_tree(up, TREE, mtime=1_600_000_000)
    aws("s3", "sync", up, "s3://%s/tree" % bucket)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted("tree/" + k for k in TREE)
    again = aws("s3", "sync", up, "s3://%s/tree" % bucket).stdout
    assert "upload:" not in again, again
    aws("s3", "sync", "s3://%s/tree" % bucket, down)
    assert read_tree(down) == TREE
    again = aws("s3", "sync", "s3://%s/tree" % bucket, down).stdout
    assert "download:" not in again, again
    # A change on one side travels with the next sync.
    with open(os.path.join(up, "readme.txt"), "wb") as f:
        f.write(b"changed and longer\n")
    aws("s3", "sync", up, "s3://%s/tree" % bucket)
    assert s3.get_object(Bucket=bucket, Key="tree/readme.txt")["Body"].read() == \
        b"changed and longer\n"
    out = aws("s3", "ls", "--recursive", "s3://%s/" % bucket).stdout
    assert "tree/docs/日本語/ファイル 1.txt" in out
    aws("s3", "rm", "--recursive", "s3://%s/tree/data" % bucket)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted("tree/" + k for k in TREE if not k.startswith("data/"))
    aws("s3", "rm", "--recursive", "s3://%s" % bucket)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_cli_sync_delete(aws, s3, bucket, workdir):
    up = os.path.join(workdir, "up")
    write_tree(up, {"a.txt": b"a", "b/c.txt": b"c"}, mtime=1_600_000_000)
    aws("s3", "sync", up, "s3://%s/" % bucket)
    os.remove(os.path.join(up, "b/c.txt"))
    aws("s3", "sync", "--delete", up, "s3://%s/" % bucket)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a.txt"]


def test_cli_rb_force(aws, s3, bucket_name):
    aws("s3", "mb", "s3://" + bucket_name)
    s3.put_object(Bucket=bucket_name, Key="x", Body=b"x")
    p = aws("s3", "rb", "s3://" + bucket_name, check=False)
    assert p.returncode != 0 and "BucketNotEmpty" in p.stderr
    aws("s3", "rb", "--force", "s3://" + bucket_name)
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_cli_s3api(aws, bucket, workdir):
    body = os.path.join(workdir, "body.txt")
    with open(body, "wb") as f:
        f.write(b"s3api body\n")
    out = json.loads(aws("s3api", "put-object", "--bucket", bucket, "--key", "api/ü k",
                         "--body", body, "--content-type", "text/plain",
                         "--metadata", "origin=cli").stdout)
    assert out["ETag"].startswith('"')
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "api/ü k").stdout)
    assert head["ContentLength"] == 11
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"origin": "cli"}
    assert head["ETag"] == out["ETag"]
    dst = os.path.join(workdir, "got.txt")
    got = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", "api/ü k",
                         "--range", "bytes=0-4", dst).stdout)
    assert got["ContentRange"] == "bytes 0-4/11"
    with open(dst, "rb") as f:
        assert f.read() == b"s3api"
    lst = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "api/",
                         "--delimiter", "/", "--no-paginate").stdout)
    assert [o["Key"] for o in lst["Contents"]] == ["api/ü k"]
    assert lst["KeyCount"] == 1
    p = aws("s3api", "head-object", "--bucket", bucket, "--key", "missing", check=False)
    assert p.returncode != 0 and "404" in p.stderr
    p = aws("s3api", "get-object", "--bucket", bucket, "--key", "missing", dst, check=False)
    assert p.returncode != 0 and "NoSuchKey" in p.stderr
    loc = json.loads(aws("s3api", "get-bucket-location", "--bucket", bucket).stdout)
    assert loc.get("LocationConstraint") in (None, "")
    json.loads(aws("s3api", "copy-object", "--bucket", bucket, "--key", "api/copy",
                   "--copy-source", "%s/api/ü k" % bucket).stdout)
    aws("s3api", "delete-object", "--bucket", bucket, "--key", "api/ü k")
    lst = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket).stdout)
    assert [o["Key"] for o in lst["Contents"]] == ["api/copy"]


def test_cli_presign(aws, s3, bucket):
    import requests
    s3.put_object(Bucket=bucket, Key="p q", Body=b"cli presigned")
    url = aws("s3", "presign", "s3://%s/p q" % bucket, "--expires-in", "300").stdout.strip()
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and r.content == b"cli presigned"


def test_cli_wrong_credentials(aws, bucket):
    env_secret = aws.server.secret
    aws.server.secret = "Z" * 40
    try:
        p = aws("s3", "ls", "s3://" + bucket, check=False)
    finally:
        aws.server.secret = env_secret
    assert p.returncode != 0
    assert "SignatureDoesNotMatch" in p.stderr


def test_cli_version():
    import subprocess
    p = subprocess.run([aws_cli_path(), "--version"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert p.returncode == 0 and "aws-cli/" in (p.stdout + p.stderr)


def test_cli_sync_500_unicode_files_both_ways(aws, s3, bucket, workdir):
    """`aws s3 sync` of a tree of 500 small files with unicode names, up and back down,
    bit-exact, then `aws s3 rm --recursive` empties the bucket."""
    names = ["ü", "日本", "ñandú", "😀", "a b", "x+y", "Ωmega", "dir/sub"]
    tree = {}
    for i in range(500):
        rel = "%s %03d/%s-%03d.txt" % (names[i % len(names)], i // 50, names[(i * 7) % len(names)], i)
        tree[rel] = det_bytes("sync500-%d" % i, 100 + (i * 37) % 3000)
    up = os.path.join(workdir, "up500")
    down = os.path.join(workdir, "down500")
    write_tree(up, tree, mtime=1_600_000_000)
    aws("s3", "sync", up, "s3://%s/t" % bucket)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    assert sorted(keys) == sorted("t/" + k for k in tree)
    aws("s3", "sync", "s3://%s/t" % bucket, down)
    assert read_tree(down) == tree
    aws("s3", "rm", "--recursive", "s3://%s" % bucket)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
