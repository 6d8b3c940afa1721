"""POST Object: browser form uploads. boto3's generate_presigned_post signs a policy, and
python3-requests submits the form (multipart/form-data, the file last) as a browser would.
Success answers (204, 200, 201 with the PostResponse XML, 303 to success_action_redirect),
read-back, stored metadata, every kind of policy violation, tampered signatures, missing
fields, a 20 MiB file, and that nothing is stored when the upload fails."""
import base64
import hashlib
import json
import os
import socket
import time
import urllib.parse

import pytest
import requests
from botocore.exceptions import ClientError

from s3util import (GeneratedStream, checksum_b64, det_bytes, md5_b64, md5_hex, parse_xml,
                    strip_ns)

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import ROOT_TOKEN, AdminApi  # noqa: E402


def post(url, fields, filename="upload.bin", data=b"", after=None, **kw):
    """Submits the form: fields in order, then the file, then the `after` fields."""
    files = [(k, (None, v)) for k, v in fields.items()]
    if filename is not None:
        files.append(("file", (filename, data, "application/octet-stream")))
    files += [(k, (None, v)) for k, v in (after or {}).items()]
    return requests.post(url, files=files, allow_redirects=False, timeout=120, **kw)


def error(r):
    """(status, code, message) of an S3 error answer."""
    doc = parse_xml(r.content)
    code = doc.find("Code")
    msg = doc.find("Message")
    return r.status_code, code.text if code is not None else None, \
        msg.text if msg is not None else None


def keys(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def staging_empty(server):
    """The staging area drains (an aborted upload's blob is removed by its request)."""
    staging = os.path.join(server.data_dir, "staging")
    deadline = time.monotonic() + 10
    while os.path.isdir(staging) and os.listdir(staging) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not os.path.isdir(staging) or os.listdir(staging) == []


def presign(s3, bucket, key="uploads/${filename}", fields=None, conditions=None, expires=300):
    p = s3.generate_presigned_post(bucket, key, Fields=fields or {},
                                   Conditions=conditions or [], ExpiresIn=expires)
    return p["url"], dict(p["fields"])


def refused(s3, bucket, r, status, code, message=None):
    """The upload failed as expected and stored nothing."""
    got = error(r)
    assert got[:2] == (status, code), (got, r.content[:2000])
    if message is not None:
        assert got[2] == message, got
    assert keys(s3, bucket) == []


# ---------------------------------------------------------------- success paths

def test_default_204_and_read_back(server, s3, bucket):
    data = det_bytes("post-204", 100_000)
    url, fields = presign(s3, bucket)
    assert "x-amz-signature" in fields and "policy" in fields
    r = post(url, fields, "hello world.txt", data)
    assert r.status_code == 204, r.content
    assert r.content == b""
    assert r.headers["ETag"] == '"%s"' % md5_hex(data)
    assert r.headers["Location"].endswith("/%s/uploads/hello%%20world.txt" % bucket)
    g = s3.get_object(Bucket=bucket, Key="uploads/hello world.txt")
    assert g["Body"].read() == data
    assert g["ETag"] == r.headers["ETag"]
    # S3's default type: the file part's Content-Type is not the object's
    assert g["ContentType"] == "binary/octet-stream"
    assert staging_empty(server)


def test_201_post_response(s3, bucket):
    data = b"two hundred and one"
    url, fields = presign(s3, bucket, "docs/${filename}",
                          fields={"success_action_status": "201"},
                          conditions=[{"success_action_status": "201"}])
    r = post(url, fields, "r\u00e9sum\u00e9.txt", data)
    assert r.status_code == 201, r.content
    doc = parse_xml(r.content)
    assert strip_ns(doc).tag == "PostResponse"
    assert doc.find("Bucket").text == bucket
    assert doc.find("Key").text == "docs/r\u00e9sum\u00e9.txt"
    assert doc.find("ETag").text == '"%s"' % md5_hex(data)
    assert doc.find("Location").text == r.headers["Location"]
    assert doc.find("Location").text.endswith("/docs/r%C3%A9sum%C3%A9.txt")
    assert s3.get_object(Bucket=bucket, Key="docs/r\u00e9sum\u00e9.txt")["Body"].read() == data


def test_200_and_unknown_status(s3, bucket):
    url, fields = presign(s3, bucket, "a", fields={"success_action_status": "200"},
                          conditions=[{"success_action_status": "200"}])
    r = post(url, fields, "x", b"ok")
    assert r.status_code == 200 and r.content == b""
    # Any other value answers the default 204, as S3 does.
    url, fields = presign(s3, bucket, "b", fields={"success_action_status": "302"},
                          conditions=[{"success_action_status": "302"}])
    r = post(url, fields, "x", b"ok")
    assert r.status_code == 204
    assert sorted(keys(s3, bucket)) == ["a", "b"]


def test_success_action_redirect(s3, bucket):
    target = "https://app.example/uploaded?step=2"
    data = b"redirect me"
    url, fields = presign(s3, bucket, "r/${filename}",
                          fields={"success_action_redirect": target},
                          conditions=[["starts-with", "$success_action_redirect",
                                       "https://app.example/"]])
    r = post(url, fields, "f.txt", data)
    assert r.status_code == 303, r.content
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert (loc.scheme, loc.netloc, loc.path) == ("https", "app.example", "/uploaded")
    q = urllib.parse.parse_qs(loc.query)
    assert q == {"step": ["2"], "bucket": [bucket], "key": ["r/f.txt"],
                 "etag": ['"%s"' % md5_hex(data)]}
    assert s3.get_object(Bucket=bucket, Key="r/f.txt")["Body"].read() == data
    # A redirect that is not a URL is ignored: the status decides.
    url, fields = presign(s3, bucket, "r2", fields={"success_action_redirect": "nowhere"},
                          conditions=[{"success_action_redirect": "nowhere"}])
    assert post(url, fields, "f", b"x").status_code == 204


def test_metadata_and_stored_headers(s3, bucket):
    meta_fields = {
        "x-amz-meta-color": "blue",
        "X-Amz-Meta-Owner": "eric",
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "max-age=60",
        "Content-Disposition": 'attachment; filename="n.txt"',
        "Content-Encoding": "identity",
        "Expires": "Thu, 01 Dec 2044 16:00:00 GMT",
    }
    conds = [{"x-amz-meta-color": "blue"}, ["starts-with", "$x-amz-meta-owner", ""],
             ["starts-with", "$Content-Type", "text/"], {"Cache-Control": "max-age=60"},
             ["starts-with", "$Content-Disposition", "attachment"],
             {"content-encoding": "identity"}, ["starts-with", "$Expires", ""]]
    url, fields = presign(s3, bucket, "meta/${filename}", fields=meta_fields, conditions=conds)
    r = post(url, fields, "n.txt", b"hello")
    assert r.status_code == 204, r.content
    h = s3.head_object(Bucket=bucket, Key="meta/n.txt")
    assert h["Metadata"] == {"color": "blue", "owner": "eric"}
    assert h["ContentType"] == "text/plain; charset=utf-8"
    assert h["CacheControl"] == "max-age=60"
    assert h["ContentDisposition"] == 'attachment; filename="n.txt"'
    assert h["ContentEncoding"] == "identity"
    assert h["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Thu, 01 Dec 2044 16:00:00 GMT"


def test_fixed_key_and_fields_after_the_file(s3, bucket):
    url, fields = presign(s3, bucket, "exact.bin")
    data = det_bytes("after", 5000)
    # Browsers send the submit button after the file: ignored, needs no condition.
    r = post(url, fields, "whatever.bin", data, after={"submit": "Upload", "key": "evil"})
    assert r.status_code == 204, r.content
    assert keys(s3, bucket) == ["exact.bin"]
    assert s3.get_object(Bucket=bucket, Key="exact.bin")["Body"].read() == data


def test_x_ignore_fields_and_empty_file(s3, bucket):
    url, fields = presign(s3, bucket, "empty")
    fields["x-ignore-tracking"] = "123"
    r = post(url, fields, "e", b"")
    assert r.status_code == 204, r.content
    assert r.headers["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0


def test_content_length_range(s3, bucket):
    url, fields = presign(s3, bucket, "sized/${filename}",
                          conditions=[["content-length-range", 10, 100]])
    assert post(url, fields, "min", b"x" * 10).status_code == 204
    assert post(url, fields, "max", b"x" * 100).status_code == 204
    assert sorted(keys(s3, bucket)) == ["sized/max", "sized/min"]
    r = post(url, fields, "big", b"x" * 101)
    assert error(r)[:2] == (400, "EntityTooLarge"), r.content
    r = post(url, fields, "small", b"x" * 9)
    assert error(r)[:2] == (400, "EntityTooSmall"), r.content
    r = post(url, fields, "far-too-big", b"x" * 3_000_000)
    assert error(r)[:2] == (400, "EntityTooLarge"), r.content
    assert sorted(keys(s3, bucket)) == ["sized/max", "sized/min"]


def streamed_form(fields, filename, stream, size, boundary="----cofferFormBoundary7MA4YWxk"):
    """(headers, body iterator) of a form whose file is read from stream piece by piece:
    nothing holds the whole body, on either side."""
    head = b"".join(b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                    % (boundary.encode(), k.encode(), v.encode()) for k, v in fields.items())
    head += (b'--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
             b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(),
                                                                    filename.encode()))
    tail = b"\r\n--%s--\r\n" % boundary.encode()

    class Body:
        """Iterable with a length: requests then sends Content-Length, not chunks."""

        def __len__(self):
            return len(head) + size + len(tail)

        def __iter__(self):
            yield head
            left = size
            while left:
                piece = stream.read(min(left, 1 << 20))
                left -= len(piece)
                yield piece
            yield tail

    return {"Content-Type": "multipart/form-data; boundary=" + boundary}, Body()


def test_20_mib_file_streamed(server, s3, bucket):
    size = 20 << 20
    url, fields = presign(s3, bucket, "big/${filename}",
                          conditions=[["content-length-range", 0, 32 << 20]])
    headers, body = streamed_form(fields, "big.bin", GeneratedStream("post-20mib", size), size)
    r = requests.post(url, data=body, headers=headers, timeout=300)
    assert r.status_code == 204, r.content
    want = hashlib.md5()
    src = GeneratedStream("post-20mib", size)
    got = hashlib.md5()
    g = s3.get_object(Bucket=bucket, Key="big/big.bin")
    assert g["ContentLength"] == size
    for piece in iter(lambda: g["Body"].read(1 << 20), b""):
        got.update(piece)
        want.update(src.read(len(piece)))
    assert src.read(1) == b""
    assert got.hexdigest() == want.hexdigest()
    assert r.headers["ETag"] == '"%s"' % want.hexdigest()
    assert staging_empty(server)


def test_checksum_field(s3, bucket):
    data = b"checked bytes"
    ck = checksum_b64("crc32", data)
    url, fields = presign(s3, bucket, "ck", fields={"x-amz-checksum-crc32": ck},
                          conditions=[["starts-with", "$x-amz-checksum-crc32", ""]])
    r = post(url, fields, "f", data)
    assert r.status_code == 204, r.content
    assert r.headers["x-amz-checksum-crc32"] == ck
    h = s3.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == ck
    r = post(url, fields, "f", b"other bytes")
    assert error(r)[:2] == (400, "BadDigest")
    url, fields = presign(s3, bucket, "md5", fields={"Content-MD5": md5_b64(b"m")},
                          conditions=[["starts-with", "$Content-MD5", ""]])
    assert post(url, fields, "f", b"n").status_code == 400
    assert post(url, fields, "f", b"m").status_code == 204
    assert sorted(keys(s3, bucket)) == ["ck", "md5"]


def test_tags(s3, bucket):
    url, fields = presign(s3, bucket, "tagged", fields={"x-amz-tagging": "team=a&env=b%20c"},
                          conditions=[["starts-with", "$x-amz-tagging", ""]])
    assert post(url, fields, "f", b"t").status_code == 204
    tags = s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "b c"), ("team", "a")]
    # S3's XML tagging field is refused rather than dropped.
    xml = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"
    url, fields = presign(s3, bucket, "xmltags", fields={"tagging": xml},
                          conditions=[{"tagging": xml}])
    r = post(url, fields, "f", b"t")
    assert error(r)[:2] == (501, "NotImplemented")
    assert keys(s3, bucket) == ["tagged"]


def test_signature_version_2_form(server, bucket):
    # What botocore signs by default on Debian 12: AWSAccessKeyId, policy, signature.
    c = server.client(signature_version="s3")
    p = c.generate_presigned_post(bucket, "v2/${filename}", ExpiresIn=300)
    assert "signature" in p["fields"] and "AWSAccessKeyId" in p["fields"]
    r = post(p["url"], p["fields"], "two.txt", b"v2 form")
    assert r.status_code == 204, r.content
    s3 = server.client()
    assert s3.get_object(Bucket=bucket, Key="v2/two.txt")["Body"].read() == b"v2 form"
    p["fields"]["signature"] = base64.b64encode(b"x" * 20).decode()
    r = post(p["url"], p["fields"], "three.txt", b"v2 form")
    assert error(r)[:2] == (403, "SignatureDoesNotMatch")


def test_virtual_host_form(start_server):
    srv = start_server(args=["--domain", "s3.localhost"])
    s3 = srv.client()
    s3.create_bucket(Bucket="vform")
    url, fields = presign(s3, "vform", "k/${filename}")
    r = post("http://127.0.0.1:%d/" % srv.port, fields, "v.txt", b"vhost",
             headers={"Host": "vform.s3.localhost:%d" % srv.port})
    assert r.status_code == 204, r.content
    assert r.headers["Location"] == "http://vform.s3.localhost:%d/k/v.txt" % srv.port
    assert s3.get_object(Bucket="vform", Key="k/v.txt")["Body"].read() == b"vhost"


# ---------------------------------------------------------------- policy violations

def test_wrong_key_prefix(server, s3, bucket):
    url, fields = presign(s3, bucket)
    fields["key"] = "elsewhere/${filename}"
    r = post(url, fields, "f", b"data")
    refused(s3, bucket, r, 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: '
            '["starts-with", "$key", "uploads/"]')
    assert staging_empty(server)


def test_eq_condition_and_extra_field(s3, bucket):
    url, fields = presign(s3, bucket, "k", fields={"x-amz-meta-a": "1"},
                          conditions=[{"x-amz-meta-a": "1"}])
    bad = dict(fields, **{"x-amz-meta-a": "2"})
    refused(s3, bucket, post(url, bad, "f", b"x"), 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-a", "1"]')
    extra = dict(fields, **{"x-amz-meta-b": "sneaky"})
    refused(s3, bucket, post(url, extra, "f", b"x"), 403, "AccessDenied",
            "Invalid according to Policy: Extra input fields: x-amz-meta-b")
    # A field named in the policy but left out of the form reads as empty.
    del fields["x-amz-meta-a"]
    refused(s3, bucket, post(url, fields, "f", b"x"), 403, "AccessDenied")


def test_policy_for_another_bucket(s3, bucket, bucket2):
    url, fields = presign(s3, bucket2, "k")
    r = post(url.replace(bucket2, bucket), fields, "f", b"x")
    refused(s3, bucket, r, 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "%s"]'
            % bucket2)
    assert keys(s3, bucket2) == []


def test_expired_policy(start_server):
    srv = start_server()
    s3 = srv.client()
    s3.create_bucket(Bucket="expiry")
    url, fields = presign(s3, "expiry", "late", expires=60)
    # The same data directory with the server clock two minutes ahead.
    srv.stop()
    srv.args = ["--debug-clock-offset-ms", "120000"]
    srv.start()
    url = "%s/expiry" % srv.endpoint
    r = post(url, fields, "f", b"too late")
    assert error(r) == (403, "AccessDenied", "Invalid according to Policy: Policy expired."), \
        r.content
    # And nothing was stored: back to the real clock to look.
    srv.stop()
    srv.args = []
    srv.start()
    assert keys(srv.client(), "expiry") == []


def test_tampered_signature_and_policy(server, s3, bucket):
    url, fields = presign(s3, bucket, "t")
    sig = fields["x-amz-signature"]
    bad = dict(fields, **{"x-amz-signature": sig[:-1] + ("0" if sig[-1] != "0" else "1")})
    refused(s3, bucket, post(url, bad, "f", b"x"), 403, "SignatureDoesNotMatch")
    # A policy rewritten to allow more, with the original signature.
    doc = json.loads(base64.b64decode(fields["policy"]))
    doc["conditions"].append(["starts-with", "$x-amz-meta-x", ""])
    bad = dict(fields, policy=base64.b64encode(json.dumps(doc).encode()).decode())
    bad["x-amz-meta-x"] = "1"
    refused(s3, bucket, post(url, bad, "f", b"x"), 403, "SignatureDoesNotMatch")
    # Signed with another secret; an unknown access key.
    other = server.client(secret="x" * 40)
    url2, f2 = presign(other, bucket, "t")
    refused(s3, bucket, post(url2, f2, "f", b"x"), 403, "SignatureDoesNotMatch")
    unknown = server.client(access_key="AKIAUNKNOWNKEY000000")
    url3, f3 = presign(unknown, bucket, "t")
    refused(s3, bucket, post(url3, f3, "f", b"x"), 403, "InvalidAccessKeyId")
    assert staging_empty(server)


def test_missing_fields(s3, bucket):
    url, fields = presign(s3, bucket, "m")
    no_key = {k: v for k, v in fields.items() if k != "key"}
    r = post(url, no_key, "f", b"x")
    refused(s3, bucket, r, 400, "InvalidArgument")
    assert "key" in error(r)[2]
    for name in ("policy", "x-amz-credential", "x-amz-date", "x-amz-signature",
                 "x-amz-algorithm"):
        partial = {k: v for k, v in fields.items() if k != name}
        r = post(url, partial, "f", b"x")
        refused(s3, bucket, r, 400, "InvalidArgument")
        assert name in error(r)[2].lower(), (name, error(r))
    # No file part at all.
    r = post(url, fields, None)
    refused(s3, bucket, r, 400, "IncorrectNumberOfFilesInPostRequest")
    # Nothing signed: coffer allows no anonymous writes.
    r = post(url, {"key": "m"}, "f", b"x")
    refused(s3, bucket, r, 403, "AccessDenied")
    # A field twice.
    files = [(k, (None, v)) for k, v in fields.items()] + [("key", (None, "m2"))]
    files.append(("file", ("f", b"x")))
    r = requests.post(url, files=files, timeout=60)
    refused(s3, bucket, r, 400, "InvalidArgument")


def test_not_a_form(s3, bucket):
    url, fields = presign(s3, bucket, "nf")
    r = requests.post(url, data=fields, timeout=60)  # application/x-www-form-urlencoded
    refused(s3, bucket, r, 412, "PreconditionFailed")
    r = requests.post(url, data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"},
                      timeout=60)
    refused(s3, bucket, r, 400, "MalformedPOSTRequest")
    r = requests.post(url, data=b"garbage", timeout=60,
                      headers={"Content-Type": "multipart/form-data; boundary=zz"})
    refused(s3, bucket, r, 400, "MalformedPOSTRequest")


def test_no_such_bucket(s3, bucket):
    url, fields = presign(s3, bucket + "-missing", "k")
    r = post(url, fields, "f", b"x")
    assert error(r)[:2] == (404, "NoSuchBucket"), r.content


def test_post_with_delete_subresource_is_not_a_form(s3, bucket):
    # ?delete is DeleteObjects: a form sent there is not an upload.
    url, fields = presign(s3, bucket, "d")
    r = post(url + "?delete", fields, "f", b"x")
    assert r.status_code != 204
    assert keys(s3, bucket) == []


def test_aborted_upload_stores_nothing(server, s3, bucket):
    url, fields = presign(s3, bucket, "cut")
    req = requests.Request("POST", url, files=[(k, (None, v)) for k, v in fields.items()]
                           + [("file", ("f", b"y" * 4_000_000))]).prepare()
    body = req.body
    head = "POST /%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\n" \
           "Content-Length: %d\r\n\r\n" % (bucket, server.port, req.headers["Content-Type"],
                                           len(body))
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.sendall(head.encode() + body[:len(body) // 2])
    time.sleep(0.2)  # let the server stage part of the file before the cut
    s.close()
    assert staging_empty(server)
    assert keys(s3, bucket) == []


# ---------------------------------------------------------------- credentials and rights

def test_rights_of_the_signer(admin_server, root_api, make_bucket):
    b = make_bucket()
    ro = root_api.cred("object-read-only", [b])
    scoped = root_api.cred("object-read-write", [b], ["p/"])
    url, fields = presign(ro.s3(), b, "p/${filename}")
    r = post(url, fields, "f", b"x")
    assert error(r)[:2] == (403, "AccessDenied"), r.content
    url, fields = presign(scoped.s3(), b, "p/${filename}")
    assert post(url, fields, "in", b"inside").status_code == 204
    url, fields = presign(scoped.s3(), b, "q/${filename}")
    assert error(post(url, fields, "out", b"outside"))[:2] == (403, "AccessDenied")
    root = admin_server.client()
    assert keys(root, b) == ["p/in"]
    # A disabled credential's forms stop working at once.
    url, fields = presign(scoped.s3(), b, "p/${filename}")
    root_api.set_status(scoped.id, "disabled")
    assert error(post(url, fields, "late", b"x"))[:2] == (403, "InvalidAccessKeyId")


def test_temporary_credentials_and_rotation(admin_server, root_api, make_bucket):
    from admin_fixtures import s3_client
    b = make_bucket()
    parent = root_api.cred("object-read-write", [b])
    t = root_api.temp(credential_id=parent.id, ttl_seconds=900)
    tc = s3_client(admin_server, t["access_key_id"], t["secret_access_key"],
                   session_token=t["session_token"])
    url, fields = presign(tc, b, "t/${filename}")
    assert "x-amz-security-token" in fields
    assert post(url, fields, "temp", b"temporary").status_code == 204
    bad = dict(fields, **{"x-amz-security-token": fields["x-amz-security-token"][:-4] + "AAAA"})
    assert error(post(url, bad, "temp2", b"x"))[:2] in ((400, "InvalidToken"),
                                                         (403, "AccessDenied"))
    # During a rotation grace, forms signed with the previous secret still work.
    url, fields = presign(parent.s3(), b, "r/${filename}")
    root_api.rotate(parent.id, grace_seconds=600)
    assert post(url, fields, "old", b"old secret").status_code == 204
    assert sorted(keys(admin_server.client(), b)) == ["r/old", "t/temp"]
