#!/usr/bin/python3
"""`make bench`: cofferd beside a private nginx serving the same files, driven by wrk.

For each --fsync mode (never, then always) it starts a fresh cofferd and a private nginx
on loopback, fills both with the same objects (through the S3 API for cofferd, as plain
files in nginx's root), then runs every case: a warm-up of each server, then --runs
alternating runs (cofferd, nginx, cofferd, ...) of --duration seconds each. Figures are
medians of the runs. A case with any failed request (non-2xx, a short body, a socket error)
is flagged and shows no figure.

Load generators: wrk with bench/wrk/urls.lua (presigned URLs made by boto3 for cofferd,
plain paths to the same keys for nginx), hey for HEAD (wrk cannot read answers to HEAD: it
waits for the Content-Length bytes that never come), curl for the 1 GiB stream.

Prints one table and writes bench/results/<date>-<commit>.json. See "Benchmark" in the
README for the cases and what each figure means.
"""
import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
LUA = os.path.join(BENCH, "wrk", "urls.lua")
NGINX_CONF_IN = os.path.join(BENCH, "nginx.conf.in")

ROOT_AK = "CFBENCHROOTKEY000000"
ROOT_SK = "cfBenchRootSecretKey0123456789abcdefABCD"
MASTER_KEY = "0123456789abcdef" * 4
REGION = "us-east-1"
BUCKET = "bench"
LIST_BUCKET = "list"
PRESIGN_EXPIRES = 86400

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
MB = 1e6

GET4K_KEYS = 1000
GET1M_KEYS = 100
LIST_PAGES = 100           # start positions spread over the listing bucket
LIST_PAGE = 1000
IDLE_CONNS = 1000


class Case:
    def __init__(self, cid, label, kind, size, conns, guess=0):
        self.id = cid
        self.label = label
        self.kind = kind      # get, head, list, put, delete, big
        self.size = size
        self.conns = conns
        self.guess = guess    # req/s assumed for a once-case's first warm-up pool


CASES = [
    Case("get4k", "GET 4 KiB", "get", 4 * KIB, 64),
    Case("get1m", "GET 1 MiB", "get", MIB, 16),
    Case("head4k", "HEAD 4 KiB", "head", 4 * KIB, 64),
    Case("list", "LIST 1000", "list", 0, 4),
    Case("put4k", "PUT 4 KiB", "put", 4 * KIB, 64, guess=2000),
    Case("put1m", "PUT 1 MiB", "put", MIB, 16, guess=200),
    # Small first guesses: a pool used up early is simply made again, larger; one too large
    # costs filling (DELETE) and unlinking what is left.
    Case("delete4k", "DELETE 4 KiB", "delete", 4 * KIB, 64, guess=500),
    Case("big", "1 GiB stream", "big", GIB, 1),
]
CASE_IDS = [c.id for c in CASES]


_T0 = time.monotonic()


def log(msg):
    print("%5.0fs %s" % (time.monotonic() - _T0, msg) if msg else "", flush=True)


# ------------------------------------------------------------------ machine and processes

def cpu_count_of(spec):
    """Number of CPUs in a taskset list ("0", "0,2", "1-3"); None for no pinning."""
    if not spec:
        return None
    n = 0
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi) - int(lo) + 1 if hi else 1
    return n


def pinned(spec, cmd):
    return (["taskset", "-c", spec] if spec else []) + cmd


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s before listening" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not listen on %d within %d s" % (what, port, timeout))
        time.sleep(0.05)


def proc_status(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pids):
    """utime + stime of the processes, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(d))
    return kids


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def machine_info():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = proc_status_meminfo()
    return {"nproc": os.cpu_count(), "cpus_allowed": len(os.sched_getaffinity(0)),
            "model_name": model, "kernel": os.uname().release, "mem_total": mem}


def proc_status_meminfo():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def git_info():
    def git(*args):
        p = subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else ""
    return {"commit": git("rev-parse", "HEAD") or "unknown",
            "short": git("rev-parse", "--short", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def tool_versions():
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except OSError:
            return None
        out = (p.stdout + p.stderr).strip().splitlines()
        return out[0] if out else ""
    return {"wrk": first_line(["wrk", "-v"]), "nginx": first_line(["nginx", "-v"]),
            "curl": first_line(["curl", "--version"])}


# ------------------------------------------------------------------ servers

def s3_client(endpoint):
    import boto3
    from botocore.config import Config
    cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                 retries={"total_max_attempts": 1, "mode": "standard"},
                 connect_timeout=10, read_timeout=300, max_pool_connections=32)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ROOT_AK,
        aws_secret_access_key=ROOT_SK, config=cfg)


class Cofferd:
    name = "coffer"

    def __init__(self, workdir, binary, threads, cpus, extra_args):
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.binary = binary
        self.threads = threads
        self.cpus = cpus
        self.extra_args = extra_args
        self.proc = None
        self.port = None
        self.starts = 0
        self.logs = []

    def start(self, fsync):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("COFFER_") and not k.startswith("AWS_")}
        env.update(COFFER_ROOT_ACCESS_KEY_ID=ROOT_AK, COFFER_ROOT_SECRET_ACCESS_KEY=ROOT_SK,
                   COFFER_MASTER_KEY=MASTER_KEY)
        for attempt in range(3):  # a free port can be taken by someone else before we bind
            self.port = free_port()
            cmd = pinned(self.cpus, [
                self.binary, "--listen", "127.0.0.1:%d" % self.port,
                "--admin-listen", "127.0.0.1:%d" % free_port(), "--data", self.data,
                "--region", REGION, "--fsync", fsync, "--access-log", "off",
                "--log-level", "warn", "--threads", str(self.threads)] + self.extra_args)
            err = os.path.join(self.workdir, "cofferd.%d.stderr" % self.starts)
            out = os.path.join(self.workdir, "cofferd.%d.stdout" % self.starts)
            self.starts += 1
            self.logs.append(err)
            with open(out, "wb") as o, open(err, "wb") as e:
                self.proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                             env=env, cwd=self.workdir, start_new_session=True)
            try:
                wait_listening(self.port, self.proc, "cofferd")
                self.fsync = fsync
                return
            except RuntimeError:
                with open(err, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                stop_process(self.proc)
                if "cannot listen" not in text or attempt == 2:
                    raise RuntimeError("cofferd did not start:\n" + text[-3000:])

    def stop(self):
        stop_process(self.proc)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return [self.proc.pid]

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def log_problems(self):
        bad = []
        for path in self.logs:
            with open(path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if " ERROR " in line:
                        bad.append(line[:300])
        return bad


class Nginx:
    name = "nginx"

    def __init__(self, workdir, workers, cpus):
        self.prefix = os.path.join(workdir, "nginx")
        self.root = os.path.join(workdir, "nginx-root")
        self.workers = workers
        self.cpus = cpus
        self.proc = None
        self.port = None
        self.worker_pids = []

    def start(self):
        for d in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        with open(NGINX_CONF_IN) as f:
            template = f.read()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for attempt in range(3):
            self.port = free_port()
            user = ""
            if os.geteuid() == 0:
                # Run as root, nginx would hand its workers to nobody, who cannot write here.
                import grp
                import pwd
                user = "user %s %s;" % (pwd.getpwuid(0).pw_name, grp.getgrgid(0).gr_name)
            conf = (template.replace("@USER@", user).replace("@WORKERS@", str(self.workers))
                    .replace("@PREFIX@", self.prefix).replace("@ROOT@", self.root)
                    .replace("@PORT@", str(self.port))
                    .replace("@NOFILE@", str(resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
            path = os.path.join(self.prefix, "nginx.conf")
            with open(path, "w") as f:
                f.write(conf)
            errlog = os.path.join(self.prefix, "logs", "error.log")
            cmd = pinned(self.cpus, [nginx, "-p", self.prefix + "/", "-c", path, "-e", errlog])
            with open(os.path.join(self.prefix, "logs", "stderr"), "ab") as e:
                self.proc = subprocess.Popen(cmd, stdout=e, stderr=e, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            try:
                wait_listening(self.port, self.proc, "nginx")
                break
            except RuntimeError:
                stop_process(self.proc)
                if attempt == 2:
                    with open(errlog, "rb") as f:
                        raise RuntimeError("nginx did not start:\n"
                                           + f.read().decode("utf-8", "replace")[-3000:])
        deadline = time.monotonic() + 10
        while len(self.worker_pids) < self.workers and time.monotonic() < deadline:
            self.worker_pids = children_of(self.proc.pid)
            time.sleep(0.05)

    def stop(self):
        stop_process(self.proc)

    def pids(self):
        return [self.proc.pid] + self.worker_pids

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def log_problems(self):
        path = os.path.join(self.prefix, "logs", "error.log")
        bad = []
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if re.search(r"\[(error|crit|alert|emerg)\]", line):
                        bad.append(line[:300])
        return bad


# ------------------------------------------------------------------ request targets

_presigner = None


def _presign_init(endpoint):
    global _presigner
    if _presigner is None or _presigner.meta.endpoint_url != endpoint:
        _presigner = s3_client(endpoint)


def _presign_chunk(job):
    """job: (operation, bucket, [(key or None, extra params or None)...])."""
    op, bucket, items = job
    prefix_len = len(_presigner.meta.endpoint_url)
    out = []
    for key, params in items:
        p = {"Bucket": bucket}
        if key is not None:
            p["Key"] = key
        p.update(params or {})
        url = _presigner.generate_presigned_url(op, Params=p, ExpiresIn=PRESIGN_EXPIRES)
        out.append(url[prefix_len:])
    return out


def presign(endpoint, op, bucket, keys, params=None):
    """Presigned targets ("/bucket/key?X-Amz-...") made by boto3, one per key."""
    return presign_items(endpoint, op, bucket, [(k, params) for k in keys])


def presign_items(endpoint, op, bucket, items):
    # boto3 takes ~0.2 ms a URL: large pools are shared among processes.
    workers = os.cpu_count() or 1
    if len(items) < 4000 or workers < 2:
        _presign_init(endpoint)
        return _presign_chunk((op, bucket, items))
    step = math.ceil(len(items) / (workers * 4))
    jobs = [(op, bucket, items[i:i + step]) for i in range(0, len(items), step)]
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_presign_init,
                                                initargs=(endpoint,)) as pool:
        out = []
        for part in pool.map(_presign_chunk, jobs):
            out.extend(part)
        return out


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines))
        f.write("\n")


def write_files(root, keys, body):
    """The nginx side of a fill: the same bytes under the same names."""
    made = set()
    for key in keys:
        path = os.path.join(root, key)
        d = os.path.dirname(path)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        with open(path, "wb") as f:
            f.write(body)


# ------------------------------------------------------------------ load generators

class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.client_cpus = cpu_count_of(args.cpu_client) or len(os.sched_getaffinity(0))
        self.seq = 0

    def path(self, name):
        self.seq += 1
        return os.path.join(self.tmp, "%04d-%s" % (self.seq, name))

    def wrk(self, server, targets_file, mode, method, conns, seconds, body_file=None,
            expect=-1, pattern=None, min_count=0, check_bodies=True):
        """One wrk run; the @@result of urls.lua plus rate, errors and 'exhausted'.
        check_bodies False (large GETs): no per-response check in Lua; statuses of 400 and
        up and the byte total (every request's body, at least) are checked instead."""
        threads = max(1, min(conns, self.client_cpus))
        cmd = pinned(self.args.cpu_client, [
            "wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % seconds,
            "--timeout", "30s", "--latency", "-s", LUA, server.endpoint + "/", "--",
            targets_file, mode, method, str(threads), body_file or "-", str(expect),
            pattern or "-", str(min_count)])
        env = dict(os.environ)
        if not check_bodies:
            env["BENCH_WRK_NO_BODY"] = "1"
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env)
        killer = threading.Timer(seconds + 120, proc.kill)
        killer.start()
        done = 0
        exhausted = False
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("@@done"):
                    done += 1
                    if done == threads and not exhausted:
                        # Every target answered: stop wrk now so its duration is the real one.
                        exhausted = True
                        proc.send_signal(signal.SIGINT)
            proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        result = None
        for line in lines:
            if line.startswith("@@result "):
                result = json.loads(line[len("@@result "):])
        if result is None:
            raise RuntimeError("wrk gave no result (exit %s):\n%s"
                               % (proc.returncode, "".join(lines)[-3000:]))
        secs = result["duration_us"] / 1e6
        result["seconds"] = secs
        result["rate"] = result["requests"] / secs if secs > 0 else 0.0
        result["bytes_per_s"] = result["bytes"] / secs if secs > 0 else 0.0
        if not check_bodies:
            result["bad_status"] = result["status"]
            if expect > 0:
                # Bytes of responses still in flight at the end only add to the total.
                result["short"] = max(0, result["requests"] - result["bytes"] // expect)
        result["errors"] = (result["connect"] + result["read"] + result["write"]
                            + result["timeout"] + result["bad_status"] + result["short"])
        result["exhausted"] = exhausted
        result["threads"] = threads
        return result

    def hey(self, server, url, conns, seconds):
        cpus = self.client_cpus
        cmd = pinned(self.args.cpu_client, [
            "hey", "-z", "%ds" % seconds, "-c", str(conns), "-m", "HEAD", "-t", "30",
            "-disable-compression", "-cpus", str(cpus), server.endpoint + url])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        out = p.stdout
        if p.returncode != 0 or "Requests/sec" not in out:
            raise RuntimeError("hey failed (%d):\n%s%s" % (p.returncode, out[-2000:], p.stderr[-2000:]))
        total = float(re.search(r"Total:\s+([0-9.]+) secs", out).group(1))
        pct = {m.group(1): float(m.group(2))
               for m in re.finditer(r"^\s+(\d+)% in ([0-9.]+) secs", out, re.M)}
        ok = bad = 0
        section = None
        for line in out.splitlines():
            if line.startswith("Status code distribution"):
                section = "status"
                continue
            if line.startswith("Error distribution"):
                section = "error"
                continue
            m = re.match(r"\s+\[(\d+)\]\s+(\S+)", line)
            if not m:
                continue
            if section == "status":  # "[200]  1234 responses"
                code, n = int(m.group(1)), int(m.group(2))
                if 200 <= code <= 299:
                    ok += n
                else:
                    bad += n
            elif section == "error":  # "[12]  Head http://...: connection reset"
                bad += int(m.group(1))
        return {"requests": ok + bad, "seconds": total, "rate": (ok + bad) / total,
                "p50_us": pct.get("50", 0) * 1e6, "p99_us": pct.get("99", 0) * 1e6,
                "errors": bad, "bytes_per_s": 0.0}

    def curl(self, method, url, path, size):
        cmd = ["curl", "-sS", "-o", "/dev/null", "-H", "Expect:",
               "-w", "%{http_code} %{time_total} %{size_upload} %{size_download}"]
        cmd += ["-T", path] if method == "PUT" else []
        p = subprocess.run(pinned(self.args.cpu_client, cmd + [url]), capture_output=True,
                           text=True, timeout=3600)
        parts = p.stdout.split()
        if p.returncode != 0 or len(parts) != 4:
            return {"seconds": 0.0, "errors": 1, "detail": (p.stdout + p.stderr)[-500:]}
        code, secs = int(parts[0]), float(parts[1])
        moved = float(parts[2] if method == "PUT" else parts[3])
        ok = 200 <= code <= 299 and int(moved) == size
        return {"seconds": secs, "errors": 0 if ok else 1, "code": code, "bytes": int(moved),
                "bytes_per_s": size / secs if secs > 0 else 0.0}


# ------------------------------------------------------------------ one fsync pass

class Pass:
    def __init__(self, bench, fsync, cases):
        self.b = bench
        self.args = bench.args
        self.fsync = fsync
        self.cases = cases
        self.dir = os.path.join(bench.tmp, fsync)
        os.makedirs(self.dir)
        workers = cpu_count_of(self.args.cpu_server) or len(os.sched_getaffinity(0))
        workers = self.args.threads or workers
        self.coffer = Cofferd(self.dir, self.args.cofferd, workers, self.args.cpu_server,
                              self.args.cofferd_arg)
        self.nginx = Nginx(self.dir, workers, self.args.cpu_server)
        self.servers = [self.coffer, self.nginx]
        self.body = {}
        self.targets = {}  # (server name, what) -> targets file
        self.results = []
        self.memory = {}
        self.rates = {}    # (case id, server name) -> last req/s, to size the next pool
        self.pools = {}    # GET pools: name -> keys
        self.list_pages = []

    def body_file(self, size):
        if size not in self.body:
            path = os.path.join(self.b.tmp, "body-%d" % size)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(os.urandom(size))
            self.body[size] = path
        return self.body[size]

    def body_bytes(self, size):
        with open(self.body_file(size), "rb") as f:
            return f.read()

    # -- filling

    def coffer_put_all(self, bucket, keys, size, what):
        """PUT every key to cofferd with wrk (once mode); raises unless all succeeded."""
        if not keys:
            return
        t0 = time.monotonic()
        targets = presign(self.coffer.endpoint, "put_object", bucket, keys)
        path = self.b.path("fill-%s.txt" % what)
        write_lines(path, targets)
        budget = max(120, len(keys) // 100)
        r = self.b.wrk(self.coffer, path, "once", "PUT", 64, budget, self.body_file(size))
        os.unlink(path)
        if r["errors"] or r["responses"] < len(keys):
            raise RuntimeError("filling %s: %d of %d PUTs answered, %d errors"
                               % (what, r["responses"], len(keys), r["errors"]))
        log("  filled %s: %d objects of %d bytes in %.1f s"
            % (what, len(keys), size, time.monotonic() - t0))

    def coffer_delete_all(self, bucket, keys, what):
        if not keys:
            return
        targets = presign(self.coffer.endpoint, "delete_object", bucket, keys)
        path = self.b.path("clean-%s.txt" % what)
        write_lines(path, targets)
        self.b.wrk(self.coffer, path, "once", "DELETE", 64, max(120, len(keys) // 100))
        os.unlink(path)

    def fill(self):
        kinds = {c.kind for c in self.cases}
        cl = s3_client(self.coffer.endpoint)
        cl.create_bucket(Bucket=BUCKET)
        # The 4 KiB objects serve the GET and HEAD cases and the idle-connection count.
        pools = [("obj4k", GET4K_KEYS, 4 * KIB)]
        if any(c.id == "get1m" for c in self.cases):
            pools.append(("obj1m", GET1M_KEYS, MIB))
        for name, n, size in pools:
            keys = ["%s/%04d" % (name, i) for i in range(n)]
            self.coffer_put_all(BUCKET, keys, size, name)
            write_files(os.path.join(self.nginx.root, BUCKET), keys, self.body_bytes(size))
            self.pools[name] = keys
        if "list" in kinds:
            n = self.args.keys
            cl.create_bucket(Bucket=LIST_BUCKET)
            keys = ["%08d" % i for i in range(n)]
            self.coffer_put_all(LIST_BUCKET, keys, 0, "list bucket")
            # Pages of 1000 from positions spread evenly over the whole bucket (all full).
            last = max(0, n - LIST_PAGE)
            starts = sorted({round(i * last / (LIST_PAGES - 1)) for i in range(LIST_PAGES)})
            self.list_pages = []
            for s in starts:
                params = {"MaxKeys": LIST_PAGE}
                if s > 0:
                    params["StartAfter"] = keys[s - 1]
                self.list_pages.append((None, params))
            write_files(os.path.join(self.nginx.root, "listdir"),
                        ["%08d" % i for i in range(LIST_PAGE)], b"")

    def write_targets(self):
        """The GET and LIST targets; presigned URLs sign the Host, so after the last start."""
        for name, keys in self.pools.items():
            write_lines(self.path_for("nginx", name), ["/%s/%s" % (BUCKET, k) for k in keys])
            write_lines(self.path_for("coffer", name),
                        presign(self.coffer.endpoint, "get_object", BUCKET, keys))
        if self.list_pages:
            write_lines(self.path_for("coffer", "list"),
                        presign_items(self.coffer.endpoint, "list_objects_v2", LIST_BUCKET,
                                      self.list_pages))
            write_lines(self.path_for("nginx", "list"), ["/listdir/"])

    def path_for(self, server, what):
        key = (server, what)
        if key not in self.targets:
            self.targets[key] = os.path.join(self.dir, "targets-%s-%s.txt" % (server, what))
        return self.targets[key]

    # -- memory

    def idle_connections_rss(self):
        """cofferd's RSS with IDLE_CONNS keep-alive connections open, each after one GET."""
        target = presign(self.coffer.endpoint, "get_object", BUCKET, ["obj4k/0000"])[0]
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
               % (target, self.coffer.port)).encode()
        socks = []
        opened = 0
        try:
            for _ in range(IDLE_CONNS):
                s = socket.create_connection(("127.0.0.1", self.coffer.port), timeout=30)
                socks.append(s)
                s.sendall(req)
                if read_response(s) == 200:
                    opened += 1
            time.sleep(1)
            rss = proc_status(self.coffer.proc.pid, "VmRSS")
            alive = sum(1 for s in socks if still_open(s))
        finally:
            for s in socks:
                s.close()
        return rss, opened, alive

    # -- cases

    def run(self):
        self.nginx.start()
        # Filling is not measured: it runs with --fsync never, then cofferd restarts with this
        # pass's mode on the same (fresh) data directory.
        self.coffer.start("never")
        log("[%s] filling cofferd (through S3) and nginx's root" % self.fsync)
        self.fill()
        self.coffer.stop()
        self.coffer.start(self.fsync)
        self.write_targets()
        time.sleep(0.5)
        self.memory["idle_rss"] = proc_status(self.coffer.proc.pid, "VmRSS")
        try:
            rss, opened, alive = self.idle_connections_rss()
        except OSError as e:
            log("[%s] %d idle connections: %s" % (self.fsync, IDLE_CONNS, e))
            rss, opened, alive = None, 0, 0
        self.memory.update(idle_conns_rss=rss, idle_conns_opened=opened,
                           idle_conns_alive=alive)
        log("[%s] cofferd RSS: idle %.1f MiB, with %d idle keep-alive connections %s MiB"
            % (self.fsync, self.memory["idle_rss"] / MIB, alive, mib(rss)))
        for case in self.cases:
            t0 = time.monotonic()
            os.sync()  # what the previous case wrote is not flushed during this one
            try:
                if case.kind == "big":
                    self.results += self.run_big(case)
                else:
                    self.results.append(self.run_case(case))
            except Exception as e:  # one broken case must not hide the others' figures
                if not self.coffer.alive():
                    raise RuntimeError("cofferd died during %s: %s" % (case.label, e))
                log("[%s] %s FAILED: %s" % (self.fsync, case.label, e))
                self.results.append(failed_case(case, self.fsync, str(e)))
            log("[%s] %s took %.0f s" % (self.fsync, case.label, time.monotonic() - t0))
        if self.fsync == "never" and self.args.rss_put_size:
            try:
                self.memory["big_put_peak_rss"] = self.big_put_peak_rss(self.args.rss_put_size)
                self.memory["big_put_size"] = self.args.rss_put_size
            except Exception as e:
                log("[%s] RSS during a big PUT: %s" % (self.fsync, e))
        # VmHWM can trail a VmRSS read moments before (the kernel batches its counters).
        self.memory["peak_rss"] = max(proc_status(self.coffer.proc.pid, "VmHWM"),
                                      self.memory.get("idle_conns_rss") or 0)
        self.memory["final_rss"] = proc_status(self.coffer.proc.pid, "VmRSS")

    def stop(self):
        for s in self.servers:
            try:
                t0 = time.monotonic()
                s.stop()
                if time.monotonic() - t0 > 2:
                    log("%s took %.0f s to stop" % (s.name, time.monotonic() - t0))
            except Exception as e:  # keep stopping the others
                log("stopping %s: %s" % (s.name, e))

    def measured(self, server, fn):
        # Each run starts with no dirty pages: the kernel's writeback of the previous run's
        # bytes (GBs after the PUT cases) would otherwise take CPU from whoever runs next.
        os.sync()
        before = cpu_seconds(server.pids())
        r = fn()
        r["cpu_s"] = cpu_seconds(server.pids()) - before
        return r

    def run_case(self, case):
        a = self.args
        out = {"case": case.id, "label": case.label, "fsync": self.fsync, "conns": case.conns,
               "size": case.size}
        for s in self.servers:
            out[s.name] = {"warmup": None, "runs": []}
        for s in self.servers:
            out[s.name]["warmup"] = self.one_run(case, s, "w", a.warmup)
        for i in range(a.runs):
            for s in self.servers:
                r = self.one_run(case, s, "r%d" % (i + 1), a.duration)
                out[s.name]["runs"].append(r)
                log("[%s] %-12s %-6s run %d: %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d%s"
                    % (self.fsync, case.label, s.name, i + 1, r["rate"], r["p50_us"] / 1e3,
                       r["p99_us"] / 1e3, r["errors"],
                       "  (pool used up)" if r.get("exhausted") else ""))
        summarize(case, out, [s.name for s in self.servers])
        return out

    def one_run(self, case, server, tag, seconds):
        if case.kind == "get":
            name = "obj4k" if case.size == 4 * KIB else "obj1m"
            return self.measured(server, lambda: self.b.wrk(
                server, self.path_for(server.name, name), "cycle", "GET", case.conns, seconds,
                expect=case.size, check_bodies=case.size < MIB or tag == "w"))
        if case.kind == "head":
            url = (presign(self.coffer.endpoint, "head_object", BUCKET, ["obj4k/0000"])[0]
                   if server is self.coffer else "/%s/obj4k/0000" % BUCKET)
            return self.measured(server, lambda: self.b.hey(server, url, case.conns, seconds))
        if case.kind == "list":
            pattern = "<Key>" if server is self.coffer else '"name"'
            return self.measured(server, lambda: self.b.wrk(
                server, self.path_for(server.name, "list"), "cycle", "GET", case.conns,
                seconds, pattern=pattern, min_count=LIST_PAGE))
        return self.once_run(case, server, tag, seconds)

    def once_run(self, case, server, tag, seconds):
        """PUT of fresh keys or DELETE of existing ones, each key once: the pool is sized from
        the last rate seen; a run that uses it up before its time is run again, larger."""
        key = (case.id, server.name)
        rate = self.rates.get(key, case.guess)
        r = None
        for attempt in range(4):
            n = int(rate * seconds * 1.5) + 4 * case.conns
            r = self.once_attempt(case, server, "%s%s" % (tag, "abcd"[attempt]), n, seconds)
            r["pool"] = n
            # Even a run that used its pool up measured the right rate: wrk stopped when
            # the last answer came. But it was short: a warm-up may be, a measured run not.
            if r["rate"] > 0:
                rate = r["rate"] * (1.3 if r["exhausted"] else 1.0)
            if not r["exhausted"] or r["errors"]:
                break
            if tag == "w" and r["seconds"] >= 0.5 * seconds:
                break
        self.rates[key] = rate
        return r

    def once_attempt(self, case, server, tag, n, seconds):
        keys = ["%s/%s%s/%02d/%07d" % (case.id, self.fsync[0], tag, i % 100, i)
                for i in range(n)]
        run_dir = os.path.join(self.nginx.root, BUCKET, case.id, "%s%s" % (self.fsync[0], tag))
        body = self.body_file(case.size) if case.kind == "put" else None
        method = "PUT" if case.kind == "put" else "DELETE"
        if case.kind == "delete":
            if server is self.coffer:
                self.coffer_put_all(BUCKET, keys, case.size, "%s pool" % case.label)
            else:
                write_files(os.path.join(self.nginx.root, BUCKET), keys,
                            self.body_bytes(case.size))
        if server is self.coffer:
            op = "put_object" if case.kind == "put" else "delete_object"
            targets = presign(self.coffer.endpoint, op, BUCKET, keys)
        else:
            targets = ["/%s/%s" % (BUCKET, k) for k in keys]
        path = self.b.path("%s-%s-%s.txt" % (case.id, server.name, tag))
        write_lines(path, targets)
        # Flush the pool just written: a DELETE then unlinks files that are on disk, as it
        # would in real use, and no run pays for writing back what came before it.
        os.sync()
        r = self.measured(server, lambda: self.b.wrk(server, path, "once", method, case.conns,
                                                     seconds, body))
        os.unlink(path)
        # Remove what the run left at once, while it is still in the page cache: once written
        # back, each unlink costs a discard on a filesystem mounted with `discard`, which
        # can be milliseconds. (DELETE's leftovers on cofferd wait for the final cleanup.)
        if server is self.nginx:
            shutil.rmtree(run_dir, ignore_errors=True)
        elif case.kind == "put":
            self.coffer_delete_all(BUCKET, keys[:min(n, r["max_issued"] * r["threads"])],
                                   case.id)
        return r

    def big_put_peak_rss(self, size):
        """cofferd's peak RSS (VmHWM, reset first through clear_refs) while one PUT streams
        size bytes to it; the object is deleted afterwards."""
        import http.client
        key = "rss/big"
        target = presign(self.coffer.endpoint, "put_object", BUCKET, [key])[0]
        pid = self.coffer.proc.pid
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        base = proc_status(pid, "VmRSS")
        block = os.urandom(MIB)
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.coffer.port, timeout=600)
        conn.putrequest("PUT", target, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        left = size
        while left > 0:
            n = min(left, MIB)
            conn.send(block[:n])
            left -= n
        status = conn.getresponse().status
        conn.close()
        peak = proc_status(pid, "VmHWM")
        self.coffer_delete_all(BUCKET, [key], "rss")
        if status != 200:
            raise RuntimeError("the PUT answered %d" % status)
        log("[%s] RSS during a %.2f GiB PUT: peak %.1f MiB (%.1f MiB before), %.0f MB/s"
            % (self.fsync, size / GIB, peak / MIB, base / MIB, size / (time.monotonic() - t0) / MB))
        return peak

    def run_big(self, case):
        a = self.args
        size = a.big_size
        src = os.path.join(self.b.tmp, "big.bin")
        if not os.path.exists(src) or os.path.getsize(src) != size:
            block = os.urandom(MIB)
            with open(src, "wb") as f:
                left = size
                while left > 0:
                    f.write(block[:min(left, MIB)])
                    left -= MIB
        key = "big/object"
        urls = {}
        for op in ("put_object", "get_object"):
            urls[(self.coffer.name, op)] = (self.coffer.endpoint + presign(
                self.coffer.endpoint, op, BUCKET, [key])[0])
            urls[(self.nginx.name, op)] = "%s/%s/%s" % (self.nginx.endpoint, BUCKET, key)
        label = "%s %s" % ("%d GiB" % (size // GIB) if size % GIB == 0 else "%d MiB" % (size // MIB),
                           "(curl)")
        outs = {}
        for method in ("PUT", "GET"):
            outs[method] = {"case": "big-" + method.lower(), "label": "%s %s" % (method, label),
                            "fsync": self.fsync, "conns": 1, "size": size}
            for s in self.servers:
                outs[method][s.name] = {"warmup": None, "runs": []}

        def transfer(s, method):
            op = "put_object" if method == "PUT" else "get_object"
            r = self.measured(s, lambda: self.b.curl(method, urls[(s.name, op)], src, size))
            r["rate"] = 1 / r["seconds"] if r["seconds"] else 0.0
            return r

        for s in self.servers:
            for method in ("PUT", "GET"):
                outs[method][s.name]["warmup"] = transfer(s, method)
        for i in range(a.runs):
            for s in self.servers:
                for method in ("PUT", "GET"):
                    r = transfer(s, method)
                    outs[method][s.name]["runs"].append(r)
                    log("[%s] %-12s %-6s run %d: %7.1f MB/s  %6.2f s  errors %d"
                        % (self.fsync, outs[method]["label"], s.name, i + 1,
                           r.get("bytes_per_s", 0) / MB, r["seconds"], r["errors"]))
        res = []
        for method in ("PUT", "GET"):
            summarize(case, outs[method], [s.name for s in self.servers], stream=True)
            res.append(outs[method])
        return res


def read_response(sock):
    """Reads one HTTP answer with a Content-Length body; returns its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status


def still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def failed_case(case, fsync, message):
    side = {"warmup": None, "runs": [], "errors": 0, "median": {}}
    return {"case": case.id, "label": case.label, "fsync": fsync, "conns": case.conns,
            "size": case.size, "coffer": dict(side), "nginx": dict(side), "flagged": True,
            "ratio": None, "failure": message[-2000:]}


def summarize(case, out, names, stream=False):
    """Medians of the runs; errors anywhere (warm-up included) flag the case."""
    for name in names:
        side = out[name]
        runs = side["runs"]
        all_runs = runs + ([side["warmup"]] if side["warmup"] else [])
        side["errors"] = sum(r["errors"] for r in all_runs)
        reqs = sum(r.get("requests", 1) for r in runs)
        cpu = sum(r["cpu_s"] for r in runs)
        med = {}
        if runs:
            med["rate"] = statistics.median(r["rate"] for r in runs)
            if stream:
                med["seconds"] = statistics.median(r["seconds"] for r in runs)
                med["mb_s"] = statistics.median(r.get("bytes_per_s", 0) for r in runs) / MB
                med["cpu_s_per_gib"] = cpu / len(runs) / (out["size"] / GIB)
            else:
                med["p50_us"] = statistics.median(r["p50_us"] for r in runs)
                med["p99_us"] = statistics.median(r["p99_us"] for r in runs)
                if case.kind in ("get", "put"):
                    med["mb_s"] = med["rate"] * case.size / MB
                elif case.kind == "list":
                    med["mb_s"] = statistics.median(r["bytes_per_s"] for r in runs) / MB
                med["cpu_s_per_10k"] = cpu / reqs * 1e4 if reqs else None
        side["median"] = med
    c, n = out["coffer"], out["nginx"]
    out["flagged"] = bool(c["errors"] or n["errors"])
    key = "mb_s" if stream else "rate"
    if not out["flagged"] and c["median"].get(key) and n["median"].get(key):
        out["ratio"] = c["median"][key] / n["median"][key]
    else:
        out["ratio"] = None


# ------------------------------------------------------------------ report

def fmt_rate(v):
    return "%.0f" % v if v is not None else "-"


def fmt_ms(us):
    if us is None:
        return "-"
    return "%.2f" % (us / 1e3) if us < 1e5 else "%.0f" % (us / 1e3)


def table(results, keys):
    head = ["fsync", "case", "conns", "coffer req/s", "nginx req/s", "ratio", "coffer MB/s",
            "nginx MB/s", "c p50 ms", "c p99 ms", "n p50 ms", "n p99 ms", "errors c/n",
            "cpu s/10k c/n"]
    rows = []
    for r in results:
        c, n = r["coffer"], r["nginx"]
        cm, nm = c["median"], n["median"]
        stream = r["case"].startswith("big-")
        label = r["label"]
        if r["case"] == "list":
            label = "LIST 1000 of %d" % keys
        row = [r["fsync"], label, str(r["conns"])]

        def fig(side, med, what):
            if side["errors"]:
                return "ERR"
            v = med.get(what)
            return "-" if v is None else v

        if stream:
            row += ["-", "-"]
        else:
            row += [fmt_or(fig(c, cm, "rate"), fmt_rate), fmt_or(fig(n, nm, "rate"), fmt_rate)]
        row.append("%.2f" % r["ratio"] if r["ratio"] is not None else "-")
        row += [fmt_or(fig(c, cm, "mb_s"), lambda v: "%.1f" % v),
                fmt_or(fig(n, nm, "mb_s"), lambda v: "%.1f" % v)]
        if stream:
            # One transfer: its time (median) stands in the p50 columns, in seconds.
            row += [fmt_or(fig(c, cm, "seconds"), lambda v: "%.2fs" % v), "-",
                    fmt_or(fig(n, nm, "seconds"), lambda v: "%.2fs" % v), "-"]
            cpu = "%s/%s s/GiB" % (fmt_num(cm.get("cpu_s_per_gib")), fmt_num(nm.get("cpu_s_per_gib")))
        else:
            row += [fmt_or(fig(c, cm, "p50_us"), fmt_ms), fmt_or(fig(c, cm, "p99_us"), fmt_ms),
                    fmt_or(fig(n, nm, "p50_us"), fmt_ms), fmt_or(fig(n, nm, "p99_us"), fmt_ms)]
            cpu = "%s/%s" % (fmt_num(cm.get("cpu_s_per_10k")), fmt_num(nm.get("cpu_s_per_10k")))
        if r.get("failure"):
            row.append("FAILED")
        else:
            row.append("%d/%d%s" % (c["errors"], n["errors"], " FLAGGED" if r["flagged"] else ""))
        row.append(cpu)
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = []
    for i, row in enumerate([head] + rows):
        cells = [cell.ljust(w) if j < 2 else cell.rjust(w)
                 for j, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def mib(v):
    return "-" if v is None else "%.1f" % (v / MIB)


def fmt_or(v, f):
    return v if isinstance(v, str) else f(v)


def fmt_num(v):
    return "-" if v is None else "%.2f" % v


# ------------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="cofferd beside a private nginx on the same files (see README, Benchmark)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 run of 3 s, 1 s warm-ups, 10,000 listing keys")
    p.add_argument("--runs", type=int, help="alternating runs per server and case (default 3)")
    p.add_argument("--duration", type=int, help="seconds per run (default 10)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up per server and case (default 2)")
    p.add_argument("--cases", default=",".join(CASE_IDS),
                   help="comma-separated subset of: " + ", ".join(CASE_IDS))
    p.add_argument("--fsync", default="never,always",
                   help="cofferd --fsync modes, one pass each (default never,always)")
    p.add_argument("--keys", type=int,
                   help="keys in the listing bucket (default 1,000,000; quick 10,000)")
    p.add_argument("--rss-put-size", type=int, default=None,
                   help="bytes of the PUT during which cofferd's peak RSS is read (fsync never "
                        "pass; default 5 GiB, quick 256 MiB; 0: skip)")
    p.add_argument("--big-size", type=int, default=GIB,
                   help="bytes of the curl stream case (default 1 GiB)")
    p.add_argument("--cpu-server", metavar="CPUS",
                   help="taskset CPU list for cofferd and nginx (e.g. 0 or 0-1)")
    p.add_argument("--cpu-client", metavar="CPUS",
                   help="taskset CPU list for wrk, hey and curl")
    p.add_argument("--threads", type=int,
                   help="cofferd --threads and nginx worker_processes (default: server CPUs)")
    p.add_argument("--cofferd", default=os.path.join(REPO, "bin", "cofferd"),
                   help="the cofferd binary")
    p.add_argument("--cofferd-arg", action="append", default=[], metavar="ARG",
                   help="extra cofferd argument (repeatable), e.g. --cofferd-arg=--idle-timeout=5")
    p.add_argument("--tmpdir", help="where the temporary data goes (default $TMPDIR or /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--results", default=os.path.join(BENCH, "results"),
                   help="directory of the JSON results")
    a = p.parse_args(argv)
    if a.runs is None:
        a.runs = 1 if a.quick else 3
    if a.duration is None:
        a.duration = 3 if a.quick else 10
    if a.warmup is None:
        a.warmup = 1 if a.quick else 2
    if a.rss_put_size is None:
        a.rss_put_size = 256 * MIB if a.quick else 5 * GIB
    if a.keys is None:
        a.keys = 10000 if a.quick else 1000000
    if a.runs < 1 or a.duration < 1 or a.warmup < 1 or a.keys < LIST_PAGE or a.big_size < 1:
        p.error("--runs, --duration and --warmup must be at least 1, --keys at least 1000")
    a.case_list = [c for c in CASES if c.id in a.cases.split(",")]
    unknown = set(a.cases.split(",")) - set(CASE_IDS)
    if unknown or not a.case_list:
        p.error("unknown case(s): %s" % ", ".join(sorted(unknown)))
    a.fsync_modes = a.fsync.split(",")
    if not a.fsync_modes or any(m not in ("never", "always") for m in a.fsync_modes):
        p.error("--fsync takes never, always or both")
    return a


def check_tools(args):
    missing = [t for t in ("wrk", "curl", "hey") if not shutil.which(t)]
    if not (shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)):
        missing.append("nginx")
    if (args.cpu_server or args.cpu_client) and not shutil.which("taskset"):
        missing.append("taskset")
    if importlib.util.find_spec("boto3") is None:
        missing.append("python3-boto3")
    if missing:
        sys.exit("bench: missing %s: run scripts/install-deps.sh bench" % ", ".join(missing))
    # cofferd runs in its temporary directory: a relative path must not change meaning.
    args.cofferd = os.path.abspath(args.cofferd)
    if not os.access(args.cofferd, os.X_OK):
        sys.exit("bench: %s is missing: run make first" % args.cofferd)


def cleanup(args, tmp):
    # Only now: unlinking the hundreds of thousands of small files the PUT and DELETE cases
    # leave takes a while on a busy disk, and must not overlap a measurement.
    if args.keep:
        log("bench: kept %s" % tmp)
        return
    t0 = time.monotonic()
    log("bench: removing %s" % tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    log("bench: removed in %.0f s" % (time.monotonic() - t0))


def main(argv):
    args = parse_args(argv)
    check_tools(args)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1000 idle connections
    started = time.monotonic()
    now = datetime.datetime.now(datetime.timezone.utc)
    tmp = tempfile.mkdtemp(prefix="coffer-bench-", dir=args.tmpdir)
    bench = Bench(args, tmp)
    git = git_info()
    doc = {"date": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": git["commit"],
           "dirty": git["dirty"], "machine": machine_info(), "tools": tool_versions(),
           "options": {"quick": args.quick, "runs": args.runs, "duration_s": args.duration,
                       "warmup_s": args.warmup, "cases": [c.id for c in args.case_list],
                       "fsync": args.fsync_modes, "list_keys": args.keys,
                       "big_size": args.big_size, "cpu_server": args.cpu_server,
                       "cpu_client": args.cpu_client, "threads": args.threads,
                       "cofferd_args": args.cofferd_arg},
           "results": [], "memory": {}, "problems": {}}
    log("bench: %d run(s) of %d s per server and case after %d s warm-ups; cases %s; "
        "fsync %s; data in %s"
        % (args.runs, args.duration, args.warmup, ",".join(c.id for c in args.case_list),
           ",".join(args.fsync_modes), tmp))
    current = None
    try:
        for i, mode in enumerate(args.fsync_modes):
            # Listing only reads: the bucket is filled (and listed) in the first pass only.
            cases = [c for c in args.case_list if i == 0 or c.kind != "list"]
            current = Pass(bench, mode, cases)
            try:
                current.run()
            finally:
                current.stop()
            doc["results"] += current.results
            doc["memory"][mode] = current.memory
            doc["problems"][mode] = {"cofferd_log": current.coffer.log_problems()[:20],
                                     "nginx_log": current.nginx.log_problems()[:20]}
    except KeyboardInterrupt:
        log("bench: interrupted")
        cleanup(args, tmp)
        return 130
    except BaseException:
        cleanup(args, tmp)
        raise
    doc["elapsed_s"] = round(time.monotonic() - started, 1)

    print("\n" + table(doc["results"], args.keys) + "\n", flush=True)
    for mode, m in doc["memory"].items():
        log("cofferd --fsync %s: idle RSS %s MiB; RSS with %d idle keep-alive connections "
            "%s MiB; peak RSS (VmHWM) %s MiB"
            % (mode, mib(m.get("idle_rss")), m.get("idle_conns_alive", 0),
               mib(m.get("idle_conns_rss")), mib(m.get("peak_rss"))))
        if m.get("big_put_peak_rss"):
            log("cofferd --fsync %s: peak RSS during one %.1f GiB PUT %s MiB"
                % (mode, m["big_put_size"] / GIB, mib(m["big_put_peak_rss"])))
    for mode, pr in doc["problems"].items():
        for who, lines in pr.items():
            if lines:
                log("%s (%s pass): %d problem line(s), first: %s" % (who, mode, len(lines), lines[0]))
    log("MB = 10^6 bytes. cpu s/10k: CPU seconds (user+system) the server spent per 10,000 "
        "requests; nginx's LIST is a JSON autoindex of a 1000-file directory.")

    os.makedirs(args.results, exist_ok=True)
    name = "%s-%s%s.json" % (now.strftime("%Y%m%dT%H%M%SZ"), git["short"],
                             "-quick" if args.quick else "")
    path = os.path.join(args.results, name)
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    log("bench: results in %s (%.0f s in all)" % (os.path.relpath(path, REPO), doc["elapsed_s"]))
    cleanup(args, tmp)
    flagged = [r for r in doc["results"] if r["flagged"]]
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
