"""Fixtures for the end-to-end tests: real bin/cofferd processes on free loopback ports
with temporary data directories, boto3 clients, raw signed requests and the AWS CLI.

Every server's stderr is checked when it stops (and, for the shared session server,
after every test): no ERROR line, no sanitizer report, never the root secret or a
signature. COFFER_BIN overrides the binary (sanitizer builds); COFFER_KEEP_TMP=1 keeps
the temporary directories for a post-mortem.
"""
import itertools
import os
import resource
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

from s3util import RawClient

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT_AK = "CFTESTROOTKEY0000000"
ROOT_SK = "cfTestRootSecretKey0123456789abcdefABCDE"
MASTER_KEY = "0123456789abcdef" * 4
REGION = "us-east-1"
assert len(ROOT_AK) == 20 and len(ROOT_SK) == 40 and len(MASTER_KEY) == 64

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
BAD_LOG_TEXT = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cofferd_path():
    return os.environ.get("COFFER_BIN") or os.path.join(REPO, "bin", "cofferd")


def log_problems(text, secrets=()):
    """Why a server log is not acceptable (empty list if it is)."""
    problems = []
    for line in text.splitlines():
        if " ERROR " in line:
            problems.append("ERROR line: " + line[:400])
        elif any(t in line for t in BAD_LOG_TEXT):
            problems.append("sanitizer report: " + line[:400])
        elif "Signature=" in line or "X-Amz-Signature" in line:
            problems.append("signature in log: " + line[:400])
    for s in secrets:
        if s and s in text:
            problems.append("a secret appears in the log")
    return problems


class Server:
    """One cofferd process (restartable on the same data directory)."""

    _seq = itertools.count()

    def __init__(self, workdir, args=(), env=None, data_dir=None, region=REGION,
                 root_creds=True, master_key=True, use_env=False, flags=True):
        self.id = next(Server._seq)
        self.workdir = workdir
        self.data_dir = data_dir or os.path.join(workdir, "data")
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.region = region
        self.root_creds = root_creds
        self.master_key = master_key
        self.use_env = use_env  # pass listen/data/region as COFFER_* instead of flags
        self.flags = flags
        self.access_key = ROOT_AK
        self.secret = ROOT_SK
        self.proc = None
        self.runs = []  # (stdout path, stderr path) per start
        self.stderr_path = None
        self.stdout_path = None
        self.port = None
        self.admin_port = None
        self.problems = []
        self._clients = {}

    # -- life cycle

    def command(self):
        cmd = [cofferd_path()]
        if self.flags and not self.use_env:
            cmd += ["--listen", "127.0.0.1:%d" % self.port,
                    "--admin-listen", "127.0.0.1:%d" % self.admin_port,
                    "--data", self.data_dir, "--region", self.region]
        return cmd + self.args

    def environment(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("COFFER_") and not k.startswith("AWS_")}
        if self.root_creds:
            env["COFFER_ROOT_ACCESS_KEY_ID"] = ROOT_AK
            env["COFFER_ROOT_SECRET_ACCESS_KEY"] = ROOT_SK
        if self.master_key:
            env["COFFER_MASTER_KEY"] = MASTER_KEY
        if self.use_env:
            env["COFFER_LISTEN"] = "127.0.0.1:%d" % self.port
            env["COFFER_ADMIN_LISTEN"] = "127.0.0.1:%d" % self.admin_port
            env["COFFER_DATA"] = self.data_dir
            env["COFFER_REGION"] = self.region
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None
        self.port = free_port()
        self.admin_port = free_port()
        self._clients = {}
        n = len(self.runs)
        self.stdout_path = os.path.join(self.workdir, "cofferd.%d.stdout" % n)
        self.stderr_path = os.path.join(self.workdir, "cofferd.%d.stderr" % n)
        self.runs.append((self.stdout_path, self.stderr_path))
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=self.environment(),
                                         cwd=self.workdir, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError("cofferd exited with %s before listening:\n%s"
                                   % (rc, self.stderr()[-4000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                # The admin listener starts after the S3 one: ready once both accept.
                with socket.create_connection(("127.0.0.1", self.admin_port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("cofferd did not listen on %d within %d s:\n%s"
                                   % (self.port, READY_TIMEOUT_S, self.stderr()[-4000:]))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait; a server that ignores it or dies of another signal is a
        problem recorded for the log check."""
        if self.proc is None or self.proc.poll() is not None:
            self._note_exit()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.problems.append("cofferd did not exit within %d s of SIGTERM" % STOP_TIMEOUT_S)
            self.proc.kill()
            self.proc.wait()
            return
        self._note_exit()

    def _note_exit(self):
        if self.proc is None:
            return
        rc = self.proc.returncode
        if rc is not None and rc < 0 and rc != -signal.SIGTERM and rc != -signal.SIGKILL:
            self.problems.append("cofferd died of signal %d" % -rc)
        if rc is not None and rc > 0:
            self.problems.append("cofferd exited with status %d" % rc)

    def kill(self):
        """SIGKILL (the crash tests): nothing about the exit is a problem."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    # -- logs

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def all_stderr(self):
        text = []
        for _, err in self.runs:
            with open(err, "rb") as f:
                text.append(f.read().decode("utf-8", "replace"))
        return "\n".join(text)

    def log_mark(self):
        return (self.stderr_path, os.path.getsize(self.stderr_path))

    def log_since(self, mark):
        path, off = mark
        text = []
        seen = False
        for _, err in self.runs:
            if err == path:
                seen = True
            elif not seen:
                continue
            with open(err, "rb") as f:
                if err == path:
                    f.seek(off)
                text.append(f.read().decode("utf-8", "replace"))
        return "\n".join(text)

    def check_problems(self):
        return self.problems + log_problems(self.all_stderr(), [ROOT_SK])

    def wait_log(self, pattern, timeout=15, mark=None):
        """The first log line (after mark) matching the regex; None if none shows up."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(mark) if mark else self.stderr()
            for line in text.splitlines():
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    # -- clients

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def client(self, addressing="path", access_key=None, secret=None, region=None,
               endpoint=None, **config):
        key = (addressing, access_key, secret, region, endpoint, tuple(sorted(config.items())))
        if key not in self._clients:
            self._clients[key] = make_client(endpoint or self.endpoint, addressing,
                                             access_key or self.access_key,
                                             secret or self.secret,
                                             region or (self.region if self.region != "auto"
                                                        else REGION),
                                             **config)
        return self._clients[key]

    def raw(self, access_key=None, secret=None, region=None, host=None):
        reg = region or (self.region if self.region != "auto" else REGION)
        return RawClient(self.port, access_key or self.access_key, secret or self.secret,
                         reg, host)


def make_client(endpoint, addressing="path", access_key=ROOT_AK, secret=ROOT_SK,
                region=REGION, **config):
    cfg = dict(signature_version="s3v4", s3={"addressing_style": addressing},
               retries={"total_max_attempts": 1, "mode": "standard"},
               connect_timeout=10, read_timeout=120, max_pool_connections=64)
    cfg.update(config)
    return watch_signatures(boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret, config=Config(**cfg)))


# ---------------------------------------------------------------- secrets in logs, session-wide
#
# Every secret, bearer token and session token the tests are handed (admin_fixtures records
# them), the fixed test secrets, and every SigV4 signature boto3 or s3util's signer sent are
# collected; every server log written during the session is kept until the end (_rmtree
# moves them aside) and searched for all of them then (session_log_secrets).

SESSION_SECRETS = set()
SESSION_SIGNATURES = set()
SIGNATURES_MAX = 1000000  # memory bound; far above a full run
SECRET_MIN = 16  # shorter strings would match by chance
LOG_ARCHIVE = []  # [directory] once tmp_root exists
_archive_seq = itertools.count()
_SIG_RX = re.compile(r"Signature=([0-9a-f]{64})")
# The characters of every secret format (base64, cft_ tokens, hex): a secret shows up in a
# log only inside a maximal run of these.
_TOKEN_RX = re.compile(r"[A-Za-z0-9+/=_-]{%d,}" % SECRET_MIN)


def note_secret(s):
    if isinstance(s, str) and len(s) >= SECRET_MIN:
        SESSION_SECRETS.add(s)


def note_signature(sig):
    if len(SESSION_SIGNATURES) < SIGNATURES_MAX:
        SESSION_SIGNATURES.add(sig)


def _note_request_signature(request, **kw):
    auth = request.headers.get("Authorization")
    if auth is not None:
        if isinstance(auth, bytes):
            auth = auth.decode("latin-1")
        for m in _SIG_RX.finditer(auth):
            note_signature(m.group(1))
    for m in re.finditer(r"X-Amz-Signature=([0-9a-f]{64})", request.url or ""):
        note_signature(m.group(1))


def watch_signatures(client):
    """Records the signature of every request client sends (for session_log_secrets)."""
    client.meta.events.register("before-send.s3", _note_request_signature)
    return client


def _wrap_raw_signer():
    import s3util
    orig = s3util.sign_headers
    if getattr(orig, "_records", False):
        return

    def sign_headers(*args, **kw):
        h, ctx = orig(*args, **kw)
        note_signature(ctx.signature)
        return h, ctx
    sign_headers._records = True
    s3util.sign_headers = sign_headers


_wrap_raw_signer()
for _s in (ROOT_SK, MASTER_KEY):
    note_secret(_s)


def secrets_in_text(text, secrets, lengths=None):
    """The secrets (a set) that occur in text, found through the runs of secret characters."""
    found = set()
    lengths = lengths or sorted({len(x) for x in secrets})
    for m in _TOKEN_RX.finditer(text):
        tok = m.group(0)
        for n in lengths:
            if n > len(tok):
                break
            for i in range(len(tok) - n + 1):
                if tok[i:i + n] in secrets:
                    found.add(tok[i:i + n])
    return found


def _archive_logs(path):
    """Moves the server logs under path into the session's archive before path goes."""
    if not LOG_ARCHIVE or os.path.abspath(path) == os.path.dirname(LOG_ARCHIVE[0]):
        return
    for d, _, files in os.walk(path):
        for name in files:
            if name.startswith("cofferd.") and name.endswith(".stderr"):
                dst = os.path.join(LOG_ARCHIVE[0], "%06d-%s" % (next(_archive_seq), name))
                try:
                    shutil.move(os.path.join(d, name), dst)
                except OSError:
                    pass


def raise_fd_limit(need):
    """Lets this process open need descriptors (tests holding hundreds of sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def _rmtree(path):
    if os.environ.get("COFFER_KEEP_TMP") == "1":
        print("kept", path)
        return
    _archive_logs(path)
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def tmp_root():
    path = tempfile.mkdtemp(prefix="coffer-e2e-")
    LOG_ARCHIVE[:] = [os.path.join(path, "server-logs")]
    os.mkdir(LOG_ARCHIVE[0])
    yield path
    LOG_ARCHIVE[:] = []
    _rmtree(path)


@pytest.fixture(scope="session", autouse=True)
def session_log_secrets(tmp_root):
    """After the whole session (every other session fixture has stopped its server): no
    server log written during it holds any secret, token or signature the tests used."""
    yield
    secrets = SESSION_SECRETS | SESSION_SIGNATURES
    lengths = sorted({len(x) for x in secrets})
    problems = []
    nlogs = 0
    for d, _, files in os.walk(tmp_root):
        for name in files:
            if not (name.startswith("cofferd.") or "-cofferd." in name) or \
                    not name.endswith(".stderr"):
                continue
            nlogs += 1
            with open(os.path.join(d, name), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for hit in secrets_in_text(text, secrets, lengths):
                kind = "signature" if hit in SESSION_SIGNATURES else "secret"
                problems.append("%s: a %s the tests used (%s...) is in the log"
                                % (os.path.relpath(os.path.join(d, name), tmp_root), kind,
                                   hit[:6]))
    if problems:
        pytest.fail("secrets in server logs (%d logs, %d secrets, %d signatures checked):\n"
                    % (nlogs, len(SESSION_SECRETS), len(SESSION_SIGNATURES))
                    + "\n".join(problems[:50]), pytrace=False)


@pytest.fixture(scope="session")
def cofferd_bin():
    path = cofferd_path()
    if not os.access(path, os.X_OK):
        pytest.fail("%s is missing: run make first" % path)
    return path


@pytest.fixture(scope="session")
def session_server(tmp_root, cofferd_bin):
    workdir = tempfile.mkdtemp(prefix="session-", dir=tmp_root)
    srv = Server(workdir)
    srv.start()
    yield srv
    srv.stop()
    problems = srv.check_problems()
    _rmtree(workdir)
    assert not problems, "\n".join(problems)


@pytest.fixture
def server(session_server):
    """The shared server; its log lines written during the test are checked after it.
    A server that died is restarted on the same data dir for the next test."""
    srv = session_server
    if not srv.alive():
        srv.stop()  # records how it died
        srv.start()
    mark = srv.log_mark()
    yield srv
    problems = []
    if not srv.alive():
        problems.append("cofferd died during this test (exit %s)" % srv.proc.returncode)
    problems += log_problems(srv.log_since(mark), [ROOT_SK])
    if problems:
        pytest.fail("server problems:\n" + "\n".join(problems) + "\n--- log tail:\n"
                    + srv.log_since(mark)[-3000:], pytrace=False)


@pytest.fixture
def start_server(tmp_root, cofferd_bin):
    """Factory: start_server(args=[...], env={...}, data_dir=..., region=..., ...) starts
    an extra server (own temp dir) that is stopped and log-checked after the test."""
    servers = []
    dirs = []

    def start(args=(), env=None, wait=True, **kw):
        workdir = tempfile.mkdtemp(prefix="srv-", dir=tmp_root)
        dirs.append(workdir)
        srv = Server(workdir, args=args, env=env, **kw)
        servers.append(srv)
        return srv.start(wait=wait)

    yield start
    problems = []
    for srv in servers:
        srv.stop()
        problems += ["server %d: %s" % (srv.id, p) for p in srv.check_problems()]
    tails = "\n".join("--- server %d log tail:\n%s" % (s.id, s.all_stderr()[-2000:])
                      for s in servers) if problems else ""
    for d in dirs:
        _rmtree(d)
    if problems:
        pytest.fail("server problems:\n" + "\n".join(problems) + "\n" + tails, pytrace=False)


@pytest.fixture
def s3(server):
    """boto3 client, path-style."""
    return server.client()


@pytest.fixture
def raw(server):
    """Hand-signed requests to the shared server."""
    return server.raw()


_bucket_seq = itertools.count()


def bucket_name_for(nodename):
    base = re.sub(r"[^a-z0-9]+", "-", nodename.lower()).strip("-")
    suffix = "-%04d" % next(_bucket_seq)
    return ("t-" + base)[:63 - len(suffix)].rstrip("-") + suffix


@pytest.fixture
def bucket_name(request):
    """A fresh, valid, unique bucket name (not created)."""
    return bucket_name_for(request.node.name)


def empty_and_delete(client, name):
    try:
        token = None
        while True:
            kw = {"Bucket": name}
            if token:
                kw["ContinuationToken"] = token
            page = client.list_objects_v2(**kw)
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        client.delete_bucket(Bucket=name)
    except Exception:  # cleanup is best effort; the tests themselves check deletes
        pass


@pytest.fixture
def bucket(server, s3, request):
    """A created bucket on the shared server, emptied and deleted afterwards."""
    name = bucket_name_for(request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    if server.alive():
        empty_and_delete(s3, name)


@pytest.fixture
def bucket2(server, s3, request):
    name = bucket_name_for(request.node.name + "-b")
    s3.create_bucket(Bucket=name)
    yield name
    if server.alive():
        empty_and_delete(s3, name)


def aws_cli_path():
    # Debian's awscli; the first `aws` on PATH may be a pyenv shim or a pip install.
    if os.environ.get("COFFER_AWS_CLI"):
        return os.environ["COFFER_AWS_CLI"]
    if os.access("/usr/bin/aws", os.X_OK):
        return "/usr/bin/aws"
    return shutil.which("aws") or "/usr/bin/aws"


class AwsCli:
    """Runs /usr/bin/aws against one server with the root credentials."""

    def __init__(self, server, home):
        self.server = server
        self.home = home
        self.config = os.path.join(home, "aws-config")
        with open(self.config, "w") as f:
            # Multipart upload is not implemented yet: keep every upload a single PUT.
            f.write("[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 5GB\n"
                    "  multipart_chunksize = 5GB\n")

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("PYTHON")
               and not k.startswith("COFFER_")}
        env.update({
            "AWS_ACCESS_KEY_ID": self.server.access_key,
            "AWS_SECRET_ACCESS_KEY": self.server.secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": self.config,
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": self.home,
            "LC_ALL": "C.UTF-8",
            "PATH": "/usr/bin:/bin",
        })
        return env

    def __call__(self, *args, check=True, cwd=None, timeout=300):
        cmd = [aws_cli_path(), "--endpoint-url", self.server.endpoint, "--region", REGION,
               "--no-cli-pager"] + [str(a) for a in args]
        p = subprocess.run(cmd, env=self.env(), cwd=cwd or self.home, capture_output=True,
                           timeout=timeout)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("aws %s failed (%d):\nstdout: %s\nstderr: %s"
                                 % (" ".join(cmd[5:]), p.returncode, p.stdout[-3000:],
                                    p.stderr[-3000:]))
        return p


@pytest.fixture
def aws(server, tmp_root):
    home = tempfile.mkdtemp(prefix="aws-", dir=tmp_root)
    yield AwsCli(server, home)
    _rmtree(home)


@pytest.fixture
def workdir(tmp_root):
    """A scratch directory removed after the test."""
    d = tempfile.mkdtemp(prefix="work-", dir=tmp_root)
    yield d
    _rmtree(d)

