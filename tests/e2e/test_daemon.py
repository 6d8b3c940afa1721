"""cofferd as a program: flags and environment, the first-start banner, credentials at
rest, restarts, --fsync never, the access log."""
import os
import re
import stat
import subprocess
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import MASTER_KEY, ROOT_AK, ROOT_SK, Server, cofferd_path, make_client
from s3util import obj_path


def run_cofferd(*args, env=None, timeout=30):
    e = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    e.update(env or {})
    return subprocess.run([cofferd_path()] + list(args), capture_output=True, text=True,
                          env=e, timeout=timeout, stdin=subprocess.DEVNULL)


def test_help_documents_every_flag():
    p = run_cofferd("--help")
    assert p.returncode == 0
    text = p.stdout + p.stderr
    for flag in ("--listen", "--admin-listen", "--data", "--domain", "--region", "--fsync",
                 "--threads", "--log-level", "--debug-clock-offset-ms"):
        assert flag in text, flag
    for var in ("COFFER_LISTEN", "COFFER_DATA", "COFFER_FSYNC"):
        assert var in text, var


@pytest.mark.parametrize("args,env", [
    (["--fsync", "sometimes"], {}),
    (["--listen", "not-an-address"], {}),
    (["--no-such-flag"], {}),
    ([], {"COFFER_FSYNC": "maybe"}),
    (["--log-level", "loud"], {}),
])
def test_bad_configuration_exits_2(args, env, tmp_root):
    p = run_cofferd("--data", os.path.join(tmp_root, "never-created"), *args, env=env)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.strip()
    assert not os.path.exists(os.path.join(tmp_root, "never-created"))


def test_first_start_banner_and_generated_root(start_server):
    srv = start_server(root_creds=False, master_key=False)
    out = srv.stdout()
    assert srv.endpoint in out
    assert "aws --endpoint-url %s" % srv.endpoint in out
    assert re.search(r"aws --endpoint-url %s.* s3 ls" % re.escape(srv.endpoint), out)
    ak = re.search(r"\b(CF[A-Z2-7]{18})\b", out)
    sk = re.search(r"AWS_SECRET_ACCESS_KEY=([A-Za-z0-9]{40})\b", out)
    assert ak and sk, out
    srv.access_key, srv.secret = ak.group(1), sk.group(1)
    c = make_client(srv.endpoint, access_key=srv.access_key, secret=srv.secret)
    c.create_bucket(Bucket="generated")
    assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["generated"]
    # The secret is printed once (stdout), never logged.
    assert srv.secret not in srv.stderr()
    # master.key was created with mode 0600 and the secret is not stored in the clear.
    mk = os.path.join(srv.data_dir, "master.key")
    assert stat.S_IMODE(os.stat(mk).st_mode) == 0o600
    srv.stop()
    for dirpath, _, files in os.walk(srv.data_dir):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                assert srv.secret.encode() not in fh.read(), "secret in the clear in " + f
    # A restart keeps the credential and does not print the secret again.
    srv.start()
    assert srv.secret not in srv.stdout()
    c = make_client(srv.endpoint, access_key=srv.access_key, secret=srv.secret)
    assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["generated"]
    assert srv.secret not in srv.all_stderr()


def test_restart_keeps_everything(start_server):
    srv = start_server()
    c = srv.client()
    c.create_bucket(Bucket="persist")
    c.put_object(Bucket="persist", Key="a/ü b", Body=b"kept", ContentType="text/x-kept",
                 Metadata={"m": "1"})
    srv.restart()
    # Root env variables are only used on the first start of an empty data dir.
    srv.root_creds = False
    srv.restart()
    c = srv.client()
    g = c.get_object(Bucket="persist", Key="a/ü b")
    assert g["Body"].read() == b"kept"
    assert g["ContentType"] == "text/x-kept"
    assert g["Metadata"] == {"m": "1"}
    assert ROOT_SK not in srv.stdout()


def test_secret_sealed_with_env_master_key(start_server, tmp_root):
    srv = start_server()  # COFFER_MASTER_KEY set: no master.key file needed
    srv.client().create_bucket(Bucket="sealed")
    srv.stop()
    assert not os.path.exists(os.path.join(srv.data_dir, "master.key"))
    for dirpath, _, files in os.walk(srv.data_dir):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                assert ROOT_SK.encode() not in fh.read(), "secret in the clear in " + f
    # Another master key cannot open the stored secret: the server refuses to start, or
    # refuses the credential; it never accepts it. (Its log is not checked: an error is
    # the right thing to report here.)
    import tempfile
    other = Server(tempfile.mkdtemp(dir=tmp_root), data_dir=srv.data_dir,
                   env={"COFFER_MASTER_KEY": "f" * 64})
    try:
        other.start()
    except RuntimeError:
        return
    try:
        with pytest.raises(ClientError):
            other.client().list_buckets()
    finally:
        other.kill()
    assert MASTER_KEY != "f" * 64


def test_configuration_from_environment(start_server):
    srv = start_server(use_env=True, env={"COFFER_FSYNC": "never", "COFFER_LOG_LEVEL": "info"})
    c = srv.client()
    c.create_bucket(Bucket="envconf")
    c.put_object(Bucket="envconf", Key="k", Body=b"env")
    assert c.get_object(Bucket="envconf", Key="k")["Body"].read() == b"env"
    assert os.path.isdir(srv.data_dir)


def test_config_file(start_server, tmp_root):
    import tempfile
    d = tempfile.mkdtemp(dir=tmp_root)
    path = os.path.join(d, "cofferd.conf")
    with open(path, "w") as f:
        f.write("# test config\nregion = eu-north-1\n")
    srv = start_server(args=["--config", path], region="eu-north-1")
    c = srv.client(region="eu-north-1")
    c.create_bucket(Bucket="conf", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    assert c.get_bucket_location(Bucket="conf")["LocationConstraint"] == "eu-north-1"


def test_fsync_never(start_server):
    srv = start_server(args=["--fsync", "never"])
    c = srv.client()
    c.create_bucket(Bucket="nofsync")
    for i in range(20):
        c.put_object(Bucket="nofsync", Key="k%d" % i, Body=b"x" * i)
    # A process crash loses nothing even without fsync.
    srv.kill()
    srv.start()
    c = srv.client()
    assert c.list_objects_v2(Bucket="nofsync")["KeyCount"] == 20
    assert c.get_object(Bucket="nofsync", Key="k19")["Body"].read() == b"x" * 19


def test_access_log_line(server, raw, bucket):
    mark = server.log_mark()
    key = "logged/ü b+c"
    r = raw.request("PUT", obj_path(bucket, key), body=b"0123456789")
    rid = r.headers["x-amz-request-id"]
    line = server.wait_log(r"\baccess %s\b" % re.escape(rid), mark=mark)
    assert line, "no access log line for request %s" % rid
    f = line.split(" ")
    # <time> INFO access <rid> <akid> <METHOD> <bucket> <key> <status> <in> <out> <us>
    assert len(f) == 12, line
    assert f[1] == "INFO" and f[2] == "access" and f[3] == rid
    assert f[4] == ROOT_AK
    assert f[5] == "PUT"
    assert f[6] == bucket
    assert urllib.parse.unquote(f[7]) == key
    assert f[8] == "200"
    assert f[9] == "10"
    assert f[10].isdigit() and f[11].isdigit()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", f[0])

    g = raw.request("GET", obj_path(bucket, key))
    line = server.wait_log(r"\baccess %s\b" % re.escape(g.headers["x-amz-request-id"]),
                           mark=mark)
    assert line
    f = line.split(" ")
    assert f[5] == "GET" and f[8] == "200" and f[10] == "10", line

    a = raw.unsigned("GET", "/")
    line = server.wait_log(r"\baccess %s\b" % re.escape(a.headers["x-amz-request-id"]),
                           mark=mark)
    assert line
    f = line.split(" ")
    assert f[4] == "-" and f[6] == "-" and f[7] == "-" and f[8] == "403", line


def test_log_never_has_signatures(server, s3, bucket):
    mark = server.log_mark()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"})
    sig = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    import requests
    requests.get(url, timeout=30)
    s3.list_objects_v2(Bucket=bucket)
    server.wait_log(r"access .* GET %s " % re.escape(bucket), mark=mark)
    text = server.log_since(mark)
    assert sig not in text
    assert ROOT_SK not in text
