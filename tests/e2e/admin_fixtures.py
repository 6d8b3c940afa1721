"""Fixtures for the credentials-API end-to-end tests (loaded by the test modules with
`pytest_plugins = ["admin_fixtures"]`).

The servers here are conftest's Server with a known root bearer token (COFFER_ROOT_TOKEN).
Every secret the tests are handed (S3 secrets, bearer tokens, session tokens) is recorded on
the server it came from; no log line of that server may ever contain one.
"""
import datetime
import json
import tempfile
import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (REGION, ROOT_SK, Server, _rmtree, empty_and_delete, log_problems,
                      note_secret, watch_signatures)

ROOT_TOKEN = "cft_" + "R00tT0kenForTheE2eTests0123456789abcdefghij"
assert len(ROOT_TOKEN) == 47 and ROOT_TOKEN[4:].isalnum()
note_secret(ROOT_TOKEN)

LEVELS = ("admin-read-write", "admin-read-only", "object-read-write", "object-read-only")


# ---------------------------------------------------------------- time helpers

def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    """An RFC 3339 time as the server writes it ("2030-01-02T03:04:05.000Z")."""
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def sleep_past(when, margin=0.3):
    """Sleeps until the wall clock is past `when` (datetime or RFC 3339 string) plus margin:
    waiting out an expiry, never asserting on how long something took."""
    if isinstance(when, str):
        when = parse_time(when)
    while True:
        left = (when - utcnow()).total_seconds() + margin
        if left <= 0:
            return
        time.sleep(left)


# ---------------------------------------------------------------- S3 helpers

def s3_client(server, access_key, secret, session_token=None, **config):
    cfg = dict(signature_version="s3v4", s3={"addressing_style": "path"},
               retries={"total_max_attempts": 1, "mode": "standard"},
               connect_timeout=10, read_timeout=60)
    cfg.update(config)
    return watch_signatures(boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=access_key,
        aws_secret_access_key=secret, aws_session_token=session_token, config=Config(**cfg)))


def s3_call(fn, **kw):
    """(HTTP status, S3 error code or None, answer or None) of one boto3 call. HEAD errors
    have no body: botocore then reports the status as the code."""
    try:
        r = fn(**kw)
        return r["ResponseMetadata"]["HTTPStatusCode"], None, r
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], None


def s3_outcome(fn, **kw):
    """(HTTP status, S3 error code or None) of one boto3 call."""
    return s3_call(fn, **kw)[:2]


def assert_denied(fn, code="AccessDenied", status=403, **kw):
    got = s3_outcome(fn, **kw)
    want_codes = (code, str(status)) if fn.__name__.startswith("head") else (code,)
    assert got[0] == status and got[1] in want_codes, \
        "%s(%s): expected %d %s, got %r" % (fn.__name__, kw, status, code, got)


def assert_allowed(fn, **kw):
    got = s3_outcome(fn, **kw)
    assert got[1] is None, "%s(%s): expected success, got %r" % (fn.__name__, kw, got)


# ---------------------------------------------------------------- admin API client

class ApiError(AssertionError):
    pass


class Resp:
    """An admin API answer: status, parsed JSON (or None) and the raw text."""

    def __init__(self, r):
        self.status = r.status_code
        self.headers = r.headers
        self.text = r.text
        try:
            self.json = r.json()
        except ValueError:
            self.json = None

    @property
    def error(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"]
        return {}

    @property
    def code(self):
        return self.error.get("code")

    @property
    def field(self):
        return self.error.get("field")

    def __repr__(self):
        return "<Resp %d %s>" % (self.status, self.text[:800])


class Cred:
    """A credential as created (with its secrets), usable on both APIs."""

    def __init__(self, server, data):
        self.server = server
        self.data = data
        self.id = data["id"]
        self.secret = data["secret_access_key"]
        self.token = data["token"]
        self._s3 = None

    def api(self):
        return AdminApi(self.server, self.token)

    def s3(self, fresh=False):
        if fresh or self._s3 is None:
            c = s3_client(self.server, self.id, self.secret)
            if fresh:
                return c
            self._s3 = c
        return self._s3


class AdminApi:
    """Requests to the admin listener with one bearer token (None: no Authorization)."""

    def __init__(self, server, token=ROOT_TOKEN):
        self.server = server
        self.token = token

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server.admin_port

    def request(self, method, path, body=None, raw=None, params=None, headers=None,
                token=Ellipsis):
        h = {}
        tok = self.token if token is Ellipsis else token
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
            h["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        r = requests.request(method, self.base + path, data=data, params=params, headers=h,
                             timeout=60)
        resp = Resp(r)
        record_secrets(self.server, resp.json)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- helpers that expect success

    def expect(self, resp, status):
        if resp.status != status:
            raise ApiError("expected %d, got %r" % (status, resp))
        return resp.json

    def create_cred(self, name="cred", **fields):
        body = dict(name=name, **fields)
        return Cred(self.server, self.expect(self.post("/v1/credentials", body), 201))

    def cred(self, level, buckets=None, prefixes=None, name=None, **fields):
        """A shorthand credential: cred("object-read-only", [b], ["p/"])."""
        body = {"permission": level}
        if buckets is not None:
            body["buckets"] = list(buckets)
        if prefixes is not None:
            body["prefixes"] = list(prefixes)
        body.update(fields)
        return self.create_cred(name or level, **body)

    def temp(self, **fields):
        return self.expect(self.post("/v1/temporary-credentials", fields), 201)

    def revoke(self, cred_id):
        return self.expect(self.delete("/v1/credentials/" + cred_id), 200)

    def set_status(self, cred_id, status):
        return self.expect(self.patch("/v1/credentials/" + cred_id, {"status": status}), 200)

    def rotate(self, cred_id, grace_seconds=None):
        body = {} if grace_seconds is None else {"grace_seconds": grace_seconds}
        return self.expect(self.post("/v1/credentials/%s/rotate" % cred_id, body), 200)

    def self_status(self):
        return self.get("/v1/credentials/self").status

    def audit(self, **params):
        return self.expect(self.get("/v1/audit", params=params), 200)

    def audit_all(self, **params):
        """Every event matching params, following next_cursor."""
        events = []
        params = dict(params)
        while True:
            page = self.audit(**params)
            events += page["events"]
            if not page.get("next_cursor"):
                return events
            params["cursor"] = page["next_cursor"]


SECRET_KEYS = ("secret_access_key", "token", "session_token")


def record_secrets(server, doc):
    """Remembers every secret in an answer (nested: the bucket flow's credential too)."""
    if not hasattr(server, "issued"):
        server.issued = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in SECRET_KEYS and isinstance(v, str) and v:
                server.issued.append(v)
                note_secret(v)  # for conftest's session-wide log check
            else:
                record_secrets(server, v)
    elif isinstance(doc, list):
        for v in doc:
            record_secrets(server, v)


def server_secrets(server):
    return [ROOT_SK, ROOT_TOKEN] + list(getattr(server, "issued", []))


def new_admin_server(workdir, args=(), env=None, **kw):
    e = {"COFFER_ROOT_TOKEN": ROOT_TOKEN}
    e.update(env or {})
    srv = Server(workdir, args=args, env=e, **kw)
    srv.issued = []
    return srv


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def admin_session_server(tmp_root, cofferd_bin):
    """One cofferd with a known root token, shared by the credentials-API tests."""
    workdir = tempfile.mkdtemp(prefix="admin-session-", dir=tmp_root)
    srv = new_admin_server(workdir)
    srv.start()
    yield srv
    srv.stop()
    problems = srv.problems + log_problems(srv.all_stderr(), server_secrets(srv))
    _rmtree(workdir)
    assert not problems, "\n".join(problems)


@pytest.fixture
def admin_server(admin_session_server):
    """The shared admin server, restarted if it died; its log lines written during the test
    are checked after it (no ERROR, no sanitizer report, no secret it ever issued)."""
    srv = admin_session_server
    if not srv.alive():
        srv.stop()
        srv.start()
    mark = srv.log_mark()
    yield srv
    problems = []
    if not srv.alive():
        problems.append("cofferd died during this test (exit %s)" % srv.proc.returncode)
    problems += log_problems(srv.log_since(mark), server_secrets(srv))
    if problems:
        pytest.fail("server problems:\n" + "\n".join(problems) + "\n--- log tail:\n"
                    + srv.log_since(mark)[-3000:], pytrace=False)


@pytest.fixture
def root_api(admin_server):
    return AdminApi(admin_server, ROOT_TOKEN)


@pytest.fixture
def root_s3(admin_server):
    return admin_server.client()


@pytest.fixture
def make_bucket(admin_server, request):
    """Factory: make_bucket(suffix="", objects={key: bytes}) creates a bucket as root on the
    shared admin server; every one is emptied and deleted after the test."""
    from conftest import bucket_name_for
    made = []
    s3 = admin_server.client()

    def make(suffix="", objects=None):
        name = bucket_name_for(request.node.name + suffix)
        s3.create_bucket(Bucket=name)
        made.append(name)
        for k, v in (objects or {}).items():
            s3.put_object(Bucket=name, Key=k, Body=v)
        return name

    yield make
    if admin_server.alive():
        for name in made:
            empty_and_delete(s3, name)


@pytest.fixture
def start_admin_server(start_server):
    """Factory like conftest's start_server, with the known root token; the servers' logs
    are also checked for every secret they issued."""
    servers = []

    def start(args=(), env=None, **kw):
        e = {"COFFER_ROOT_TOKEN": ROOT_TOKEN}
        e.update(env or {})
        srv = start_server(args=args, env=e, **kw)
        srv.issued = []
        servers.append(srv)
        return srv

    yield start
    problems = []
    for srv in servers:
        srv.stop()  # the whole log, shutdown included (start_server checks the rest)
        text = srv.all_stderr()
        for s in server_secrets(srv):
            if s and s in text:
                problems.append("server %d: an issued secret appears in its log" % srv.id)
                break
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def cofferd_routes():
    """`bin/cofferd --print-admin-routes` as a list of (METHOD, path template)."""
    import subprocess
    from conftest import cofferd_path
    p = subprocess.run([cofferd_path(), "--print-admin-routes"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    out = []
    for line in p.stdout.decode().splitlines():
        line = line.strip()
        if line:
            method, path = line.split(None, 1)
            out.append((method.upper(), path.strip()))
    return out

