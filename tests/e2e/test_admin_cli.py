"""The `coffer` CLI (bin/coffer) against a real cofferd: the bucket-plus-credential flow,
`--env` output eval'd by a shell and used with boto3 and the AWS CLI, list/show/update,
rotate, revoke, temporary credentials, the audit log, and errors (exit status and a one-line
reason on standard error)."""
import json
import os
import shlex
import subprocess

import pytest

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import (ROOT_TOKEN, assert_allowed, assert_denied, record_secrets,  # noqa: E402
                            s3_client, s3_outcome)
from conftest import REPO, ROOT_AK, AwsCli, bucket_name_for  # noqa: E402

COFFER = os.environ.get("COFFER_CLI") or os.path.join(REPO, "bin", "coffer")

pytestmark = pytest.mark.skipif(not os.access(COFFER, os.X_OK),
                                reason="bin/coffer is not built (make bin/coffer)")


class Cli:
    def __init__(self, server, token=ROOT_TOKEN):
        self.server = server
        self.token = token

    def env(self, token=Ellipsis):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("COFFER_") and not k.startswith("AWS_")}
        env["COFFER_ADMIN_URL"] = "http://127.0.0.1:%d" % self.server.admin_port
        tok = self.token if token is Ellipsis else token
        if tok is not None:
            env["COFFER_TOKEN"] = tok
        env["LC_ALL"] = "C.UTF-8"
        return env

    def __call__(self, *args, check=True, token=Ellipsis, input=None):
        p = subprocess.run([COFFER] + [str(a) for a in args], env=self.env(token),
                           capture_output=True, timeout=60, input=input)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("coffer %s failed (%d):\n%s%s" % (
                " ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
        if p.returncode == 0 and "--json" in args:
            record_secrets(self.server, json.loads(p.stdout))
        return p

    def json(self, *args):
        return json.loads(self(*args, "--json").stdout)

    def eval_env(self, *args):
        """Runs `coffer ARGS` in a shell that evals its output (set -a) and reports the
        resulting environment: the --env output as a user would consume it."""
        cmd = "set -a; eval \"$(%s)\" || exit 99; set +a; exec env -0" % " ".join(
            shlex.quote(a) for a in [COFFER] + [str(x) for x in args])
        p = subprocess.run(["/bin/sh", "-c", cmd], env=self.env(), capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        env = dict(kv.split("=", 1) for kv in p.stdout.decode().split("\0") if "=" in kv)
        got = {k: v for k, v in env.items()
               if k.startswith("AWS_") or k == "COFFER_TOKEN"}
        record_secrets(self.server, {"secret_access_key": got.get("AWS_SECRET_ACCESS_KEY"),
                                     "token": got.get("COFFER_TOKEN"),
                                     "session_token": got.get("AWS_SESSION_TOKEN")})
        return got


@pytest.fixture
def cli(admin_server):
    return Cli(admin_server)


@pytest.fixture
def fresh_bucket_name(admin_server, request):
    """Names for buckets the CLI creates; emptied and deleted afterwards."""
    from conftest import empty_and_delete
    names = []

    def make(suffix=""):
        n = bucket_name_for(request.node.name + suffix)
        names.append(n)
        return n

    yield make
    for n in names:
        empty_and_delete(admin_server.client(), n)


def assert_one_line_error(p, status=None, contains=()):
    assert p.returncode != 0, p
    if status is not None:
        assert p.returncode == status, (p.returncode, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "expected one line on stderr, got:\n" + p.stderr
    assert lines[0].startswith("coffer: "), lines[0]
    for c in contains:
        assert c in lines[0], (c, lines[0])
    assert p.stdout == "", p.stdout


# ---------------------------------------------------------------- the one-call flow

def test_bucket_create_with_credential(cli, admin_server, fresh_bucket_name, make_bucket):
    name = fresh_bucket_name()
    other = make_bucket("-o", {"k": b"x"})
    out = cli.json("bucket", "create", name, "--credential-permission", "object-read-write",
                   "--max-objects", "100")
    assert out["bucket"]["name"] == name
    assert out["bucket"]["quota"]["max_objects"] == 100
    cred = out["credential"]
    assert cred["parent_id"] == ROOT_AK
    s3 = s3_client(admin_server, cred["id"], cred["secret_access_key"])
    s3.put_object(Bucket=name, Key="a", Body=b"a")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [name]
    assert_denied(s3.get_object, Bucket=other, Key="k")
    # The bucket shows in the CLI's own listings.
    assert name in cli("bucket", "list").stdout
    shown = cli.json("bucket", "show", name)
    assert shown["objects"] == 1 and shown["bytes"] == 1


def test_bucket_create_env_eval_with_aws_cli(cli, admin_server, fresh_bucket_name, tmp_root):
    import tempfile
    name = fresh_bucket_name()
    env = cli.eval_env("bucket", "create", name, "--credential-permission", "object-read-only",
                       "--credential-prefix", "in/", "--env")
    assert env["AWS_ACCESS_KEY_ID"].startswith("CF") and len(env["AWS_SECRET_ACCESS_KEY"]) == 40
    assert env["COFFER_TOKEN"].startswith("cft_")
    root = admin_server.client()
    root.put_object(Bucket=name, Key="in/a.txt", Body=b"inside")
    root.put_object(Bucket=name, Key="out/b.txt", Body=b"outside")
    home = tempfile.mkdtemp(prefix="aws-", dir=tmp_root)
    aws = AwsCli(admin_server, home)
    aws_env = {k: v for k, v in aws.env().items() if not k.startswith("AWS_ACCESS_KEY")
               and k != "AWS_SECRET_ACCESS_KEY"}
    aws_env.update(env)

    def run(*args):
        cmd = ["/usr/bin/aws", "--endpoint-url", admin_server.endpoint, "--region", "us-east-1",
               "--no-cli-pager"] + list(args)
        return subprocess.run(cmd, env=aws_env, capture_output=True, timeout=120)

    p = run("s3", "cp", "s3://%s/in/a.txt" % name, "-")
    assert p.returncode == 0 and p.stdout == b"inside", p.stderr
    p = run("s3", "ls", "s3://%s/in/" % name)
    assert p.returncode == 0 and b"a.txt" in p.stdout, p.stderr
    p = run("s3", "cp", "s3://%s/out/b.txt" % name, "-")
    assert p.returncode != 0 and b"403" in p.stderr + p.stdout, p
    p = run("s3api", "put-object", "--bucket", name, "--key", "in/new.txt")
    assert p.returncode != 0 and b"AccessDenied" in p.stderr, p


# ---------------------------------------------------------------- credentials

def test_credential_create_env_list_show_update(cli, admin_server, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    env = cli.eval_env("credential", "create", "--name", "ci-job", "--permission",
                       "object-read-write", "--bucket", b, "--ttl", "1h", "--env")
    key, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    s3 = s3_client(admin_server, key, secret)
    s3.put_object(Bucket=b, Key="from-cli", Body=b"c")
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"

    # The shared server holds many credentials: follow the pages.
    listed = cli.json("credential", "list", "--all")
    creds = listed["credentials"] if isinstance(listed, dict) else listed
    mine = [c for c in creds if c["id"] == key]
    assert len(mine) == 1 and mine[0]["name"] == "ci-job" and mine[0]["expires_at"]
    assert all("secret_access_key" not in c and "token" not in c for c in creds)
    table = cli("credential", "list", "--all").stdout
    assert key in table and "ci-job" in table and secret not in table
    shown = cli.json("credential", "show", key)
    assert shown["id"] == key and shown["parent_id"] == ROOT_AK

    # The credential's own token works with the CLI too.
    me = Cli(admin_server, env["COFFER_TOKEN"])
    p = me("credential", "show", key, "--json", check=False)
    assert p.returncode in (0, 1)  # object-level: may be refused, but not a usage error

    cli("credential", "update", key, "--status", "disabled")
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") == (403, "InvalidAccessKeyId")
    cli("credential", "update", key, "--status", "active", "--name", "ci-job-2")
    assert_allowed(s3.get_object, Bucket=b, Key="k")
    assert cli.json("credential", "show", key)["name"] == "ci-job-2"
    cli("credential", "update", key, "--allow-ip", "10.0.0.0/8")
    assert s3_outcome(s3.get_object, Bucket=b, Key="k") == (403, "AccessDenied")
    cli("credential", "update", key, "--any-ip")
    assert_allowed(s3.get_object, Bucket=b, Key="k")


def test_credential_create_with_policy_file(cli, admin_server, make_bucket):
    b = make_bucket(objects={"one": b"1", "two": b"2"})
    pol = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::%s/one" % b}]}
    out = json.loads(cli("credential", "create", "--name", "pol", "--policy", "-", "--json",
                         input=json.dumps(pol).encode()).stdout)
    record_secrets(admin_server, out)
    s3 = s3_client(admin_server, out["id"], out["secret_access_key"])
    assert s3.get_object(Bucket=b, Key="one")["Body"].read() == b"1"
    assert_denied(s3.get_object, Bucket=b, Key="two")


def test_rotate_and_revoke(cli, admin_server, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    made = cli.json("credential", "create", "--name", "rot", "--permission",
                    "object-read-only", "--bucket", b)
    cid, old_secret = made["id"], made["secret_access_key"]
    old = s3_client(admin_server, cid, old_secret)
    assert_allowed(old.get_object, Bucket=b, Key="k")

    # With a grace: both secrets work.
    env = cli.eval_env("credential", "rotate", cid, "--grace", "10m", "--env")
    assert env["AWS_ACCESS_KEY_ID"] == cid and env["AWS_SECRET_ACCESS_KEY"] != old_secret
    mid = s3_client(admin_server, cid, env["AWS_SECRET_ACCESS_KEY"])
    assert_allowed(old.get_object, Bucket=b, Key="k")
    assert_allowed(mid.get_object, Bucket=b, Key="k")

    # Without: only the newest.
    rotated = cli.json("credential", "rotate", cid)
    new = s3_client(admin_server, cid, rotated["secret_access_key"])
    assert s3_outcome(old.get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert s3_outcome(mid.get_object, Bucket=b, Key="k") == (403, "SignatureDoesNotMatch")
    assert_allowed(new.get_object, Bucket=b, Key="k")

    p = cli("credential", "revoke", cid)
    assert p.returncode == 0
    assert s3_outcome(new.get_object, Bucket=b, Key="k") == (403, "InvalidAccessKeyId")
    assert_one_line_error(cli("credential", "show", cid, check=False), 1, [cid])


def test_temp_credential_env(cli, admin_server, make_bucket):
    b = make_bucket(objects={"k": b"v"})
    env = cli.eval_env("temp-credential", "create", "--ttl", "10m", "--permission",
                       "object-read-only", "--bucket", b, "--env")
    assert env["AWS_ACCESS_KEY_ID"].startswith("CT") and env["AWS_SESSION_TOKEN"]
    s3 = s3_client(admin_server, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                   env["AWS_SESSION_TOKEN"])
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    assert_denied(s3.put_object, Bucket=b, Key="k2", Body=b"x")
    # JSON form.
    out = cli.json("temp-credential", "create", "--ttl", "60")
    assert set(out) >= {"access_key_id", "secret_access_key", "session_token", "expires_at"}


def test_audit(cli, admin_server):
    made = cli.json("credential", "create", "--name", "audited", "--permission",
                    "object-read-only")
    cli("credential", "rotate", made["id"], "--json")
    out = cli.json("audit", "--credential", made["id"], "--all")
    events = out["events"] if isinstance(out, dict) else out
    actions = [e["action"] for e in events]
    assert "admin:CreateCredential" in actions and "admin:RotateCredential" in actions, actions
    for e in events:
        assert e["source_ip"] == "127.0.0.1" and e["actor"] == ROOT_AK
    table = cli("audit", "--credential", made["id"]).stdout
    assert "admin:RotateCredential" in table and made["id"] in table
    assert made["secret_access_key"] not in table


def test_health(cli):
    p = cli("health", token=None)
    assert p.returncode == 0


# ---------------------------------------------------------------- errors

def test_errors_are_one_line_with_status(cli, admin_server):
    # The API refuses: exit 1, the server's message, the field in parentheses.
    assert_one_line_error(cli("credential", "show", "CFNOSUCHCREDENTIAL00", check=False), 1,
                          ["CFNOSUCHCREDENTIAL00"])
    assert_one_line_error(cli("credential", "create", "--name", "x", "--permission",
                              "object-read-only", "--allow-ip", "10.0.0.0/33", check=False),
                          1, ["allowed_ips[0]"])
    assert_one_line_error(cli("bucket", "create", "Bad_Name", check=False), None, ["name"])
    assert_one_line_error(cli("credential", "list", token="cft_" + "q" * 43, check=False), 1)
    assert_one_line_error(cli("credential", "revoke", ROOT_AK, check=False), 1)
    # Nothing listens there: exit 1.
    unreachable = Cli(admin_server)
    env_url = unreachable.env()
    p = subprocess.run([COFFER, "--url", "http://127.0.0.1:1", "credential", "list"],
                       env=env_url, capture_output=True, timeout=60)
    p.stdout, p.stderr = p.stdout.decode(), p.stderr.decode()
    assert_one_line_error(p, 1)
    # Bad usage: exit 2.
    assert_one_line_error(cli("frobnicate", check=False), 2)
    assert_one_line_error(cli("credential", "create", "--permission", "object-read-only",
                              check=False), 2, ["--name"])
    assert_one_line_error(cli("credential", "create", "--name", "x", "--permission",
                              "superuser", check=False), 2, ["--permission"])
    assert_one_line_error(cli("credential", "list", token=None, check=False), None,
                          ["COFFER_TOKEN"])


def test_object_level_token_refused_by_cli(cli, admin_server, make_bucket):
    b = make_bucket()
    made = cli.json("credential", "create", "--name", "obj", "--permission",
                    "object-read-only", "--bucket", b)
    me = Cli(admin_server, made["token"])
    assert_one_line_error(me("credential", "create", "--name", "kid", "--permission",
                             "object-read-only", "--bucket", b, check=False), 1)
    assert_one_line_error(me("audit", check=False), 1)
