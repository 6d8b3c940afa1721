"""Connections: 1000 open keep-alive connections, slow clients that must not stall the
others, idle and slow-body timeouts."""
import http.client
import os
import socket
import time

import pytest

from conftest import make_client, raise_fd_limit
from s3util import UNSIGNED, obj_path, sign_headers

CONNS = 1000


def signed_get(srv, path, query=()):
    host = "127.0.0.1:%d" % srv.port
    h, _ = sign_headers("GET", path, list(query), {"host": host}, UNSIGNED, srv.access_key,
                        srv.secret)
    return h


def open_stalled(srv, path, send_body_bytes=None):
    """A connection that sent a request head (and maybe part of a body) and then stalls."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    host = "127.0.0.1:%d" % srv.port
    if send_body_bytes is None:
        s.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nX-Slow: ")  # unfinished
        return s
    h, _ = sign_headers("PUT", path, [], {"host": host, "content-length": "1000000"}, UNSIGNED,
                        srv.access_key, srv.secret)
    head = "PUT %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    s.sendall(head.encode() + b"x" * send_body_bytes)
    return s


def wait_closed(s, limit_s=20):
    """True once the peer closed the connection (any response it sent first is skipped)."""
    s.settimeout(1)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        if not data:
            return True
    return False


@pytest.mark.slow
def test_1000_keepalive_connections(start_server):
    raise_fd_limit(CONNS + 512)
    srv = start_server()
    make_client(srv.endpoint).create_bucket(Bucket="conns")
    conns = []
    try:
        for i in range(CONNS):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            c.request("GET", "/conns?list-type=2", headers=signed_get(
                srv, "/conns", [("list-type", "2")]))
            r = c.getresponse()
            r.read()
            assert r.status == 200, (i, r.status)
            assert not r.will_close, "server closed keep-alive connection %d" % i
            conns.append((c, c.sock))
        # a new client still gets served while 1000 connections are open
        c3 = make_client(srv.endpoint)
        c3.put_object(Bucket="conns", Key="k", Body=b"still serving")
        assert c3.get_object(Bucket="conns", Key="k")["Body"].read() == b"still serving"
        # and every one of the 1000 is still open and usable
        for i, (c, sock) in enumerate(conns):
            c.request("GET", "/conns/k", headers=signed_get(srv, "/conns/k"))
            r = c.getresponse()
            assert r.read() == b"still serving", i
            assert c.sock is sock, "connection %d was closed and reopened" % i
    finally:
        for c, _ in conns:
            c.close()


@pytest.mark.slow
def test_slow_clients_do_not_stall_others(start_server):
    raise_fd_limit(1024)
    srv = start_server()
    c = make_client(srv.endpoint, read_timeout=30)
    c.create_bucket(Bucket="slow")
    stalled = []
    try:
        for i in range(50):
            stalled.append(open_stalled(srv, obj_path("slow", "s%d" % i), send_body_bytes=10))
        for i in range(50):
            stalled.append(open_stalled(srv, None))
        for i in range(20):
            c.put_object(Bucket="slow", Key="fast%d" % i, Body=b"f" * 1000)
            assert c.get_object(Bucket="slow", Key="fast%d" % i)["Body"].read() == b"f" * 1000
        keys = [o["Key"] for o in c.list_objects_v2(Bucket="slow")["Contents"]]
        assert all(k.startswith("fast") for k in keys), "a stalled PUT became visible"
    finally:
        for s in stalled:
            s.close()


def test_idle_connection_is_closed(start_server):
    srv = start_server(args=["--idle-timeout", "1"])
    # after a request (kept alive or not, the server must not hold it forever)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    h = signed_get(srv, "/")
    s.sendall(("GET / HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in h.items())
               + "\r\n").encode())
    assert s.recv(12).startswith(b"HTTP/1.1 200"), "no answer"
    assert wait_closed(s), "an idle keep-alive connection was never closed"
    s.close()
    # a connection that never sends a request
    s = socket.create_connection(("127.0.0.1", srv.port))
    assert wait_closed(s), "a connection that never sent a request was never closed"
    s.close()


def test_slow_body_times_out_and_stores_nothing(start_server):
    srv = start_server(args=["--idle-timeout", "1"])
    c = make_client(srv.endpoint)
    c.create_bucket(Bucket="slowbody")
    s = open_stalled(srv, obj_path("slowbody", "partial"), send_body_bytes=100_000)
    assert wait_closed(s), "a stalled upload was never timed out"
    s.close()
    # A fresh client: the old one's pooled keep-alive connection has just hit the 1 s idle
    # timeout too, and reusing it races the server's close (clients retry that; ours don't).
    c = make_client(srv.endpoint)
    assert c.list_objects_v2(Bucket="slowbody")["KeyCount"] == 0
    staging = os.path.join(srv.data_dir, "staging")
    deadline = time.monotonic() + 10
    while os.path.isdir(staging) and os.listdir(staging) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.isdir(staging) or os.listdir(staging) == [], \
        "an aborted upload left %s" % os.listdir(staging)
    # the server is fine afterwards
    c.put_object(Bucket="slowbody", Key="after", Body=b"ok")
    assert c.get_object(Bucket="slowbody", Key="after")["Body"].read() == b"ok"


def test_stalled_reader_of_a_large_answer_is_cut(start_server):
    """A client that asks for a large object and stops reading holds a connection and an open
    file; once the socket takes nothing for --idle-timeout the server must let both go."""
    srv = start_server(args=["--idle-timeout", "2"])
    c = make_client(srv.endpoint)
    c.create_bucket(Bucket="stall")
    size = 64 << 20  # far more than the socket buffers on both ends hold
    c.put_object(Bucket="stall", Key="big", Body=b"\xa5" * size)
    path = obj_path("stall", "big")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    h = signed_get(srv, path)
    s.sendall(("GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in h.items())
               + "\r\n").encode())
    assert s.recv(12).startswith(b"HTTP/1.1 200"), "no answer"
    time.sleep(6)  # stop reading: well past the idle timeout
    got = 12
    s.settimeout(10)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got += len(b)
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert got < size, "the server kept a stalled reader's answer going (%d bytes)" % got
    # The server serves on, the object intact.
    c = make_client(srv.endpoint)
    body = c.get_object(Bucket="stall", Key="big")["Body"].read()
    assert len(body) == size and body == b"\xa5" * size
