"""Helpers for the end-to-end tests: a small SigV4 signer for raw requests (so tests can
send what no SDK would: wrong hashes, tampered chunks, odd paths), aws-chunked body
builders, S3 checksums, XML helpers and deterministic test data.

The signer is written from AWS's documentation; test_signer.py checks it against
botocore's own signer so a failure elsewhere points at the server, not at this file.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import random
import threading
import xml.etree.ElementTree as ET
import zlib

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def uri_encode(s, keep_slash=False):
    """SigV4 URI encoding: unreserved bytes kept, everything else %XX (uppercase)."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    out = []
    for b in s:
        if b in _UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def obj_path(bucket, key=None):
    """Encoded path-style path for a bucket or an object."""
    if key is None:
        return "/" + bucket
    return "/" + bucket + "/" + uri_encode(key, keep_slash=True)


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def md5_hex(b):
    return hashlib.md5(b).hexdigest()


def md5_b64(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def hmac_sha256(key, msg):
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).digest()


def signing_key(secret, date, region, service="s3"):
    k = hmac_sha256(("AWS4" + secret).encode(), date)
    k = hmac_sha256(k, region)
    k = hmac_sha256(k, service)
    return hmac_sha256(k, "aws4_request")


def amz_now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


def canonical_query(query):
    """query: list of (name, value) with raw (decoded) strings; value None counts as ''."""
    enc = sorted((uri_encode(k), uri_encode(v if v is not None else "")) for k, v in query)
    return "&".join("%s=%s" % kv for kv in enc)


def wire_query(query):
    parts = []
    for k, v in query:
        parts.append(uri_encode(k) if v is None else uri_encode(k) + "=" + uri_encode(v))
    return "&".join(parts)


class SigningContext:
    """What an aws-chunked body needs from the request's own signature."""

    def __init__(self, key, amz_date, scope, signature, canonical_request, string_to_sign):
        self.key = key
        self.amz_date = amz_date
        self.scope = scope
        self.signature = signature
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


def sign_headers(method, path, query, headers, payload_hash, access_key, secret,
                 region="us-east-1", amz_date=None, service="s3"):
    """Adds x-amz-date, x-amz-content-sha256 and Authorization to a copy of headers
    (which must hold Host). Every header given is signed. Returns (headers, context)."""
    amz_date = amz_date or amz_now()
    date = amz_date[:8]
    h = {k.lower(): str(v) for k, v in headers.items()}
    h.setdefault("x-amz-date", amz_date)
    h.setdefault("x-amz-content-sha256", payload_hash)
    names = sorted(h)
    canon_headers = "".join("%s:%s\n" % (n, " ".join(h[n].strip().split())) for n in names)
    signed = ";".join(names)
    creq = "\n".join([method, path, canonical_query(query), canon_headers, signed,
                      h["x-amz-content-sha256"]])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(creq.encode())])
    key = signing_key(secret, date, region, service)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, signed, sig)
    return h, SigningContext(key, amz_date, scope, sig, creq, sts)


def presign_query(method, path, query, host, access_key, secret, region="us-east-1",
                  expires=300, amz_date=None, extra_headers=None):
    """Query-string auth, as the SDK presigners build it. Returns the full query list."""
    amz_date = amz_date or amz_now()
    date = amz_date[:8]
    scope = "%s/%s/s3/aws4_request" % (date, region)
    h = {"host": host}
    for k, v in (extra_headers or {}).items():
        h[k.lower()] = v
    names = sorted(h)
    q = list(query) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (access_key, scope)),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    canon_headers = "".join("%s:%s\n" % (n, h[n].strip()) for n in names)
    creq = "\n".join([method, path, canonical_query(q), canon_headers, ";".join(names), UNSIGNED])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(creq.encode())])
    sig = hmac.new(signing_key(secret, date, region), sts.encode(), hashlib.sha256).hexdigest()
    return q + [("X-Amz-Signature", sig)]


# ---------------------------------------------------------------- aws-chunked bodies

def _chunks(data, chunk_size):
    return [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]


def chunk_string_to_sign(ctx, prev, chunk):
    return "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", ctx.amz_date, ctx.scope, prev, EMPTY_SHA256,
                      sha256_hex(chunk)])


def aws_chunked_signed(data, ctx, chunk_size=65536, trailers=None, tamper=None):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD body (or -TRAILER when trailers, a list of
    (name, value), is given). tamper: None, 'data' (flip a byte of the second chunk after
    signing), 'final-sig' (bad signature on the 0-size chunk), 'trailer-sig'."""
    out = bytearray()
    prev = ctx.signature
    pieces = _chunks(data, chunk_size) + [b""]
    for i, piece in enumerate(pieces):
        sig = hmac.new(ctx.key, chunk_string_to_sign(ctx, prev, piece).encode(),
                       hashlib.sha256).hexdigest()
        prev = sig
        if tamper == "final-sig" and not piece:
            sig = "0" * 64
        if tamper == "data" and i == min(1, len(pieces) - 2):
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        out += b"%x;chunk-signature=%s\r\n" % (len(piece), sig.encode())
        if piece or trailers is None:
            out += piece + b"\r\n"
    if trailers is not None:
        canon = "".join("%s:%s\n" % (n, v) for n, v in trailers)
        for n, v in trailers:
            out += ("%s:%s\r\n" % (n, v)).encode()
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", ctx.amz_date, ctx.scope, prev,
                         sha256_hex(canon.encode())])
        tsig = hmac.new(ctx.key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper == "trailer-sig":
            tsig = "f" * 64
        out += ("x-amz-trailer-signature:%s\r\n" % tsig).encode()
        out += b"\r\n"
    return bytes(out)


def aws_chunked_unsigned(data, trailers, chunk_size=65536):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER body: plain chunks, then the trailer lines."""
    out = bytearray()
    for piece in _chunks(data, chunk_size):
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n"
    for n, v in trailers:
        out += ("%s:%s\r\n" % (n, v)).encode()
    out += b"\r\n"
    return bytes(out)


# ---------------------------------------------------------------- checksums

def _crc_table(poly, bits):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_T = _crc_table(0x82F63B78, 32)
_CRC64NVME_T = _crc_table(0x9A6C9329AC4BC9B5, 64)


def crc32c(data):
    c = 0xFFFFFFFF
    t = _CRC32C_T
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def crc64nvme(data):
    c = 0xFFFFFFFFFFFFFFFF
    t = _CRC64NVME_T
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFFFFFFFFFF


def checksum_b64(alg, data):
    """base64 of the big-endian digest, as in x-amz-checksum-<alg>."""
    alg = alg.lower()
    if alg == "crc32":
        raw = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif alg == "crc32c":
        raw = crc32c(data).to_bytes(4, "big")
    elif alg == "crc64nvme":
        raw = crc64nvme(data).to_bytes(8, "big")
    elif alg == "sha1":
        raw = hashlib.sha1(data).digest()
    elif alg == "sha256":
        raw = hashlib.sha256(data).digest()
    else:
        raise ValueError(alg)
    return base64.b64encode(raw).decode()


# ---------------------------------------------------------------- XML

def strip_ns(elem):
    for e in elem.iter():
        if isinstance(e.tag, str) and "}" in e.tag:
            e.tag = e.tag.split("}", 1)[1]
    return elem


def parse_xml(body):
    return strip_ns(ET.fromstring(body))


def error_fields(body):
    """{'Code':..., 'Message':..., ...} of an S3 error document, or {} if not one."""
    try:
        root = parse_xml(body)
    except ET.ParseError:
        return {}
    if root.tag != "Error":
        return {}
    return {c.tag: (c.text or "") for c in root}


# ---------------------------------------------------------------- raw HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body

    @property
    def error(self):
        return error_fields(self.body) if self.body else {}

    @property
    def code(self):
        return self.error.get("Code")

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, dict(self.headers), self.body[:600])


def http_send(port, method, target, headers, body=b"", timeout=120, host="127.0.0.1"):
    """One request on a fresh connection, exactly as given: no Host or other header is
    added, the target is sent as is. body: bytes or an iterable of bytes."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if isinstance(body, (bytes, bytearray, memoryview)):
            if body:
                conn.send(body)
        else:
            for piece in body:
                conn.send(piece)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.headers, data)
    finally:
        conn.close()


class RawClient:
    """Signs and sends requests by hand against one server."""

    def __init__(self, port, access_key, secret, region="us-east-1", host=None):
        self.port = port
        self.access_key = access_key
        self.secret = secret
        self.region = region
        self.host = host or "127.0.0.1:%d" % port

    def prepare(self, method, path, query=(), headers=None, payload_hash=None, body=b"",
                amz_date=None, host=None, region=None, access_key=None, secret=None):
        h = {"host": host or self.host}
        for k, v in (headers or {}).items():
            h[k.lower()] = v
        if payload_hash is None:
            payload_hash = sha256_hex(body) if isinstance(body, (bytes, bytearray)) else UNSIGNED
        return sign_headers(method, path, list(query), h, payload_hash,
                            access_key or self.access_key, secret or self.secret,
                            region or self.region, amz_date)

    def send(self, method, path, query=(), headers=None, body=b"", timeout=120):
        target = path + ("?" + wire_query(list(query)) if query else "")
        h = dict(headers or {})
        if not any(k.lower() == "content-length" for k in h) and method in ("PUT", "POST"):
            if isinstance(body, (bytes, bytearray)):
                h["content-length"] = str(len(body))
        return http_send(self.port, method, target, h, body, timeout)

    def request(self, method, path, query=(), headers=None, body=b"", payload_hash=None,
                **kw):
        h, _ = self.prepare(method, path, query, headers, payload_hash, body, **kw)
        return self.send(method, path, query, h, body)

    def unsigned(self, method, path, query=(), headers=None, body=b""):
        h = {"host": self.host}
        h.update(headers or {})
        return self.send(method, path, query, h, body)


# ---------------------------------------------------------------- deterministic data

def det_bytes(seed, n):
    """n pseudo-random bytes that depend only on seed."""
    return random.Random(seed).randbytes(n)


class GeneratedStream:
    """A seekable, read-only file of `size` deterministic bytes, generated block by block
    so that large bodies never sit whole in memory. block(i) is block i's bytes."""

    BLOCK = 1 << 20

    def __init__(self, seed, size):
        self.seed = seed
        self.size = size
        self.pos = 0
        self._cache = (None, b"")

    def block(self, i):
        if self._cache[0] != i:
            n = min(self.BLOCK, self.size - i * self.BLOCK)
            self._cache = (i, random.Random("%s/%d" % (self.seed, i)).randbytes(n))
        return self._cache[1]

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        out = bytearray()
        while n > 0:
            i, off = divmod(self.pos, self.BLOCK)
            b = self.block(i)[off:off + n]
            out += b
            self.pos += len(b)
            n -= len(b)
        return bytes(out)

    def seek(self, off, whence=0):
        if whence == 0:
            self.pos = off
        elif whence == 1:
            self.pos += off
        else:
            self.pos = self.size + off
        return self.pos

    def tell(self):
        return self.pos

    def seekable(self):
        return True

    def readable(self):
        return True

    def __len__(self):
        return self.size


def run_threads(n, target, *args):
    """Runs target(i, *args) in n threads; re-raises the first exception."""
    errors = []

    def wrap(i):
        try:
            target(i, *args)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# ---------------------------------------------------------------- headers boto3 cannot send

_extra = threading.local()


def _add_extra_headers(request, **_):
    for k, v in (getattr(_extra, "headers", None) or {}).items():
        request.headers[k] = v


def call_with_headers(client, method, headers, **kw):
    """client.<method>(**kw) with extra request headers, for parameters Debian's botocore does
    not know yet (If-Match on DeleteObject, If-None-Match on PutObject...). The hook stays on
    the (possibly shared) client but only acts for this thread's call."""
    client.meta.events.register_first("before-sign.s3", _add_extra_headers,
                                      unique_id="coffer-test-extra-headers")
    _extra.headers = headers
    try:
        return getattr(client, method)(**kw)
    finally:
        _extra.headers = None
