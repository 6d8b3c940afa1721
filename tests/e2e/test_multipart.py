"""Multipart uploads end to end: boto3 (create, upload, copy, complete, abort, list parts,
list uploads and every error code), GET/HEAD with PartNumber, checksums of both types,
conditional completion, garbage collection of parts, a GET streaming an object while it is
overwritten, 20 parallel uploads, and `aws s3 cp` going multipart by itself."""
import base64
import hashlib
import os
import threading
import time
import zlib

import pytest
from botocore.exceptions import ClientError

from s3util import GeneratedStream, crc32c, crc64nvme, det_bytes, run_threads

MiB = 1 << 20
PART = 5 * MiB
GC_WAIT_S = 60  # upper bound while polling for the collector; never asserted on


# ---------------------------------------------------------------- helpers

def err(fn, **kw):
    """(HTTP status, S3 error code) of a call expected to fail."""
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    r = ei.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def mp_etag(parts):
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(parts))


def upload(s3, bucket, key, parts, **create):
    """Creates an upload, uploads parts (bytes), returns (upload id, [CompletedPart])."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=p)
        assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest()
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def complete(s3, bucket, key, uid, parts):
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                        MultipartUpload={"Parts": parts})


def put_multipart(s3, bucket, key, parts, **create):
    uid, done = upload(s3, bucket, key, parts, **create)
    return complete(s3, bucket, key, uid, done)


def with_headers(s3, op, headers):
    """Adds headers to every `op` request of this client until the returned function is
    called (for parameters the installed botocore does not know yet)."""
    def add(request, **_):
        for k, v in headers.items():
            request.headers[k] = v
    event = "before-sign.s3.%s" % op
    s3.meta.events.register(event, add)
    return lambda: s3.meta.events.unregister(event, add)


def blob_files(server, size):
    """Paths of the data directory's files of exactly `size` bytes."""
    found = []
    for dirpath, _, files in os.walk(server.data_dir):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                if os.path.getsize(p) == size:
                    found.append(p)
            except FileNotFoundError:
                pass
    return found


def wait_until(cond, what):
    deadline = time.monotonic() + GC_WAIT_S
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("still waiting after %d s for %s" % (GC_WAIT_S, what))
        time.sleep(0.05)


def b64(raw):
    return base64.b64encode(raw).decode()


# ---------------------------------------------------------------- round trip

def test_round_trip_ranges_and_part_numbers(s3, bucket):
    parts = [det_bytes("rt/%d" % i, PART) for i in range(3)] + [det_bytes("rt/tail", 12345)]
    whole = b"".join(parts)
    r = put_multipart(s3, bucket, "dir/obj.bin", parts, ContentType="text/x-test",
                      Metadata={"color": "blue"})
    assert r["ETag"] == mp_etag(parts)
    assert r["Bucket"] == bucket and r["Key"] == "dir/obj.bin"
    assert r["Location"].endswith("/%s/dir/obj.bin" % bucket)

    h = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert h["ContentLength"] == len(whole)
    assert h["ETag"] == mp_etag(parts)
    assert h["ContentType"] == "text/x-test" and h["Metadata"] == {"color": "blue"}
    assert "PartsCount" not in h  # S3 gives it only with partNumber

    g = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert g["Body"].read() == whole
    assert "PartsCount" not in g

    # Ranges inside one part, across each boundary, across all, and suffixes.
    for a, b in [(0, 0), (10, PART - 1), (PART - 7, PART + 6), (2 * PART - 1, 2 * PART),
                 (PART - 1, 3 * PART + 5), (3 * PART, len(whole) - 1), (1, len(whole) - 2)]:
        g = s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range="bytes=%d-%d" % (a, b))
        assert g["ContentRange"] == "bytes %d-%d/%d" % (a, b, len(whole))
        assert g["Body"].read() == whole[a:b + 1], (a, b)
    g = s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range="bytes=-12346")
    assert g["Body"].read() == whole[-12346:]
    g = s3.get_object(Bucket=bucket, Key="dir/obj.bin", Range="bytes=%d-" % (PART + 3))
    assert g["Body"].read() == whole[PART + 3:]

    off = 0
    for n, p in enumerate(parts, 1):
        g = s3.get_object(Bucket=bucket, Key="dir/obj.bin", PartNumber=n)
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert g["PartsCount"] == 4
        assert g["ContentLength"] == len(p)
        assert g["ContentRange"] == "bytes %d-%d/%d" % (off, off + len(p) - 1, len(whole))
        assert g["ETag"] == mp_etag(parts)
        assert g["Body"].read() == p
        h = s3.head_object(Bucket=bucket, Key="dir/obj.bin", PartNumber=n)
        assert h["ContentLength"] == len(p) and h["PartsCount"] == 4
        off += len(p)
    assert err(s3.get_object, Bucket=bucket, Key="dir/obj.bin", PartNumber=5) == \
        (416, "InvalidPartNumber")
    assert err(s3.head_object, Bucket=bucket, Key="dir/obj.bin", PartNumber=5)[0] == 416
    assert err(s3.get_object, Bucket=bucket, Key="dir/obj.bin", PartNumber=2,
               Range="bytes=0-1") == (400, "InvalidRequest")
    # Conditional reads compare the multipart ETag.
    assert s3.get_object(Bucket=bucket, Key="dir/obj.bin", IfMatch=mp_etag(parts),
                         Range="bytes=0-3")["Body"].read() == whole[:4]
    assert err(s3.get_object, Bucket=bucket, Key="dir/obj.bin", IfMatch='"nope"') == \
        (412, "PreconditionFailed")
    # Listed like any object.
    lst = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in lst] == \
        [("dir/obj.bin", len(whole), mp_etag(parts))]


def test_part_number_on_plain_object(s3, bucket, raw):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"0123456789")
    g = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["ContentRange"] == "bytes 0-9/10"
    assert g["Body"].read() == b"0123456789"
    assert "PartsCount" not in g
    assert err(s3.get_object, Bucket=bucket, Key="plain", PartNumber=2) == \
        (416, "InvalidPartNumber")
    for bad in ("0", "10001", "x", ""):
        r = raw.request("GET", "/%s/plain" % bucket, query=[("partNumber", bad)])
        assert (r.status, r.code) == (400, "InvalidArgument"), (bad, r)


def test_single_part_and_empty_last_part(s3, bucket):
    r = put_multipart(s3, bucket, "one", [b"just one small part"])
    assert r["ETag"] == mp_etag([b"just one small part"])
    assert s3.get_object(Bucket=bucket, Key="one")["Body"].read() == b"just one small part"
    g = s3.get_object(Bucket=bucket, Key="one", PartNumber=1)
    assert g["PartsCount"] == 1 and g["Body"].read() == b"just one small part"
    parts = [det_bytes("e", PART), b""]
    put_multipart(s3, bucket, "empty-tail", parts)
    assert s3.get_object(Bucket=bucket, Key="empty-tail")["Body"].read() == parts[0]
    put_multipart(s3, bucket, "empty", [b""])
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0


def test_part_replaced_and_subset_completed(s3, bucket):
    p1a, p1b, p2, p3 = (det_bytes("r/%s" % n, PART) for n in ("1a", "1b", "2", "3"))
    uid, done = upload(s3, bucket, "k", [p1a, p2, p3])
    r = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=p1b)
    lp = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp] == [
        (1, r["ETag"], PART), (2, done[1]["ETag"], PART), (3, done[2]["ETag"], PART)]
    # The old ETag of part 1 is no longer a part.
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid, parts=done) == \
        (400, "InvalidPart")
    # Parts 1 and 3 only: 2 is dropped (and collected).
    parts = [{"PartNumber": 1, "ETag": r["ETag"]}, done[2]]
    assert complete(s3, bucket, "k", uid, parts)["ETag"] == mp_etag([p1b, p3])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == p1b + p3
    assert err(s3.list_parts, Bucket=bucket, Key="k", UploadId=uid) == (404, "NoSuchUpload")


# ---------------------------------------------------------------- errors

def test_error_codes(s3, bucket, raw):
    small = det_bytes("small", 1000)
    big = [det_bytes("big/%d" % i, PART) for i in range(3)]
    assert err(s3.create_multipart_upload, Bucket=bucket + "-missing", Key="k") == \
        (404, "NoSuchBucket")
    assert err(s3.upload_part, Bucket=bucket, Key="k", UploadId="nosuchupload", PartNumber=1,
               Body=b"x") == (404, "NoSuchUpload")
    assert err(s3.list_parts, Bucket=bucket, Key="k", UploadId="nosuchupload") == \
        (404, "NoSuchUpload")
    assert err(s3.abort_multipart_upload, Bucket=bucket, Key="k", UploadId="nosuchupload") == \
        (404, "NoSuchUpload")
    assert err(complete, s3=s3, bucket=bucket, key="k", uid="nosuchupload",
               parts=[{"PartNumber": 1, "ETag": '"x"'}]) == (404, "NoSuchUpload")

    uid, done = upload(s3, bucket, "k", [big[0], small, big[1], big[2]])
    # The same upload id under another key is not this upload.
    assert err(s3.list_parts, Bucket=bucket, Key="other", UploadId=uid) == (404, "NoSuchUpload")
    for bad in ("0", "10001", "-1", "one"):
        r = raw.request("PUT", "/%s/k" % bucket, query=[("partNumber", bad), ("uploadId", uid)],
                        body=b"x")
        assert (r.status, r.code) == (400, "InvalidArgument"), (bad, r)
    wrong = dict(done[0], ETag='"%s"' % hashlib.md5(b"other").hexdigest())
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid, parts=[wrong] + done[1:]) == \
        (400, "InvalidPart")
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid,
               parts=done[:1] + [{"PartNumber": 9, "ETag": done[1]["ETag"]}]) == \
        (400, "InvalidPart")
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid,
               parts=[done[1], done[0]]) == (400, "InvalidPartOrder")
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid,
               parts=[done[0], done[0]]) == (400, "InvalidPartOrder")
    # The 1000-byte part 2 is in the middle.
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid, parts=done) == \
        (400, "EntityTooSmall")
    # Empty or malformed part lists.
    for body in (b"<CompleteMultipartUpload></CompleteMultipartUpload>", b"<nope",
                 b"<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>",
                 b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
                 b"</CompleteMultipartUpload>"):
        r = raw.request("POST", "/%s/k" % bucket, query=[("uploadId", uid)], body=body)
        assert (r.status, r.code) == (400, "MalformedXML"), (body, r)
    # Nothing of the failures stuck: the upload completes without the small part.
    parts = [done[0], done[2], done[3]]
    assert complete(s3, bucket, "k", uid, parts)["ETag"] == mp_etag(big)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(big)
    # Completed: the upload is gone.
    assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid, parts=parts) == \
        (404, "NoSuchUpload")
    assert err(s3.upload_part, Bucket=bucket, Key="k", UploadId=uid, PartNumber=1,
               Body=b"x") == (404, "NoSuchUpload")


def test_abort(server, s3, bucket):
    part = det_bytes("abort", PART + 4321)
    uid, _ = upload(s3, bucket, "gone", [part])
    assert len(blob_files(server, len(part))) == 1
    r = s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=uid)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert err(s3.list_parts, Bucket=bucket, Key="gone", UploadId=uid) == (404, "NoSuchUpload")
    assert err(s3.abort_multipart_upload, Bucket=bucket, Key="gone", UploadId=uid) == \
        (404, "NoSuchUpload")
    assert err(s3.upload_part, Bucket=bucket, Key="gone", UploadId=uid, PartNumber=2,
               Body=b"late") == (404, "NoSuchUpload")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert err(s3.head_object, Bucket=bucket, Key="gone")[0] == 404
    wait_until(lambda: not blob_files(server, len(part)), "the aborted part's blob to go")


def test_overwrite_and_delete_collect_parts(server, s3, bucket):
    a = [det_bytes("gc-a/%d" % i, PART + 1111) for i in range(2)]
    b = [det_bytes("gc-b/%d" % i, PART + 2222) for i in range(2)]
    put_multipart(s3, bucket, "k", a)
    assert len(blob_files(server, PART + 1111)) == 2
    put_multipart(s3, bucket, "k", b)
    wait_until(lambda: not blob_files(server, PART + 1111), "the replaced parts to go")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(b)
    s3.put_object(Bucket=bucket, Key="k", Body=b"small now")
    wait_until(lambda: not blob_files(server, PART + 2222), "the overwritten parts to go")
    put_multipart(s3, bucket, "k", a)
    s3.delete_object(Bucket=bucket, Key="k")
    wait_until(lambda: not blob_files(server, PART + 1111), "the deleted parts to go")


# ---------------------------------------------------------------- listings

def test_list_parts_pagination(s3, bucket):
    parts = [det_bytes("lp/%d" % i, 100 + i) for i in range(7)]
    uid, done = upload(s3, bucket, "lp", parts, ContentType="x/y")
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=3)
    assert r["IsTruncated"] is True and r["NextPartNumberMarker"] == 3 and r["MaxParts"] == 3
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2, 3]
    assert r["Parts"][0]["Size"] == 100 and r["Parts"][0]["ETag"] == done[0]["ETag"]
    assert r["StorageClass"] == "STANDARD" and r["Initiator"]["ID"]
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=3, PartNumberMarker=3)
    assert [p["PartNumber"] for p in r["Parts"]] == [4, 5, 6] and r["PartNumberMarker"] == 3
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, PartNumberMarker=6)
    assert [p["PartNumber"] for p in r["Parts"]] == [7] and r["IsTruncated"] is False
    got = []
    for page in s3.get_paginator("list_parts").paginate(Bucket=bucket, Key="lp", UploadId=uid,
                                                       PaginationConfig={"PageSize": 2}):
        got += [(p["PartNumber"], p["ETag"]) for p in page.get("Parts", [])]
    assert got == [(d["PartNumber"], d["ETag"]) for d in done]
    s3.abort_multipart_upload(Bucket=bucket, Key="lp", UploadId=uid)


def test_list_uploads(s3, bucket):
    keys = ["a/1", "a/2", "b/1", "c", "c", "d/e/f"]
    ids = {}
    for k in keys:
        ids.setdefault(k, []).append(s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"])
    r = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in r["Uploads"]] == sorted(keys)
    assert r["IsTruncated"] is False and r["MaxUploads"] == 1000
    u0 = r["Uploads"][0]
    assert u0["StorageClass"] == "STANDARD" and u0["Initiator"]["ID"] and u0["Initiated"]
    assert {u["UploadId"] for u in r["Uploads"] if u["Key"] == "c"} == set(ids["c"])

    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["Key"] for u in r["Uploads"]] == ["a/1", "a/2"] and r["Prefix"] == "a/"
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["c", "c"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "b/", "d/"]
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="d/", Delimiter="/")
    assert "Uploads" not in r and [p["Prefix"] for p in r["CommonPrefixes"]] == ["d/e/"]

    # Pages of two, through both markers (the two uploads of "c" straddle a page).
    seen = []
    kw = {"Bucket": bucket, "MaxUploads": 2}
    while True:
        r = s3.list_multipart_uploads(**kw)
        seen += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["UploadIdMarker"] = r["NextUploadIdMarker"]
    assert sorted(seen) == sorted((k, i) for k, v in ids.items() for i in v)
    assert len(seen) == len(set(seen)) == len(keys)
    # The key marker alone skips every upload of that key.
    r = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="c")
    assert [u["Key"] for u in r["Uploads"]] == ["d/e/f"]
    paged = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 4}):
        paged += [u["UploadId"] for u in page.get("Uploads", [])]
    assert sorted(paged) == sorted(i for v in ids.values() for i in v)
    for k, v in ids.items():
        for i in v:
            s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=i)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_list_uploads_errors(s3, bucket, raw):
    assert err(s3.list_multipart_uploads, Bucket=bucket + "-missing") == (404, "NoSuchBucket")
    r = raw.request("GET", "/%s" % bucket, query=[("uploads", ""), ("max-uploads", "x")])
    assert (r.status, r.code) == (400, "InvalidArgument")
    r = raw.request("GET", "/%s" % bucket, query=[("uploads", ""), ("encoding-type", "zip")])
    assert (r.status, r.code) == (400, "InvalidArgument")


# ---------------------------------------------------------------- UploadPartCopy

def test_upload_part_copy(s3, bucket, bucket2):
    plain = det_bytes("copy/plain", 2 * PART + 100)
    s3.put_object(Bucket=bucket2, Key="src/plain", Body=plain)
    mparts = [det_bytes("copy/mp/%d" % i, PART + 17 * i) for i in range(3)]
    put_multipart(s3, bucket2, "src/mp", mparts)
    mwhole = b"".join(mparts)

    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    pieces = [
        ({"Bucket": bucket2, "Key": "src/plain"}, None, plain),
        ({"Bucket": bucket2, "Key": "src/mp"}, (PART - 10, 2 * PART + 30),
         mwhole[PART - 10:2 * PART + 31]),
        ({"Bucket": bucket2, "Key": "src/plain"}, (7, 7), plain[7:8]),
    ]
    done = []
    for n, (src, rng, data) in enumerate(pieces, 1):
        kw = {}
        if rng:
            kw["CopySourceRange"] = "bytes=%d-%d" % rng
        r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=n,
                                CopySource=src, **kw)
        assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        assert r["CopyPartResult"]["LastModified"]
        done.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    r = complete(s3, bucket, "dst", uid, done)
    assert r["ETag"] == mp_etag([p[2] for p in pieces])
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == \
        b"".join(p[2] for p in pieces)

    # CopyObject of a multipart object is a plain object with the MD5 as its ETag.
    r = s3.copy_object(Bucket=bucket, Key="flat", CopySource={"Bucket": bucket2, "Key": "src/mp"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(mwhole).hexdigest()
    assert s3.get_object(Bucket=bucket, Key="flat")["Body"].read() == mwhole


def test_upload_part_copy_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    src = {"Bucket": bucket, "Key": "src"}
    call = s3.upload_part_copy

    def copy(**kw):
        return call(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, **kw)

    assert err(copy, CopySource={"Bucket": bucket, "Key": "none"}) == (404, "NoSuchKey")
    assert err(copy, CopySource=src, CopySourceRange="bytes=0-10") == (400, "InvalidArgument")
    assert err(copy, CopySource=src, CopySourceRange="bytes=5-4") == (400, "InvalidArgument")
    assert err(copy, CopySource=src, CopySourceRange="bytes=3-") == (400, "InvalidArgument")
    assert err(copy, CopySource=src, CopySourceRange="0-3") == (400, "InvalidArgument")
    assert err(copy, CopySource=src, CopySourceIfMatch='"other"') == (412, "PreconditionFailed")
    assert err(copy, CopySource=src, CopySourceIfNoneMatch=etag) == (412, "PreconditionFailed")
    assert err(call, Bucket=bucket, Key="dst", UploadId="nosuch", PartNumber=1,
               CopySource=src) == (404, "NoSuchUpload")
    r = copy(CopySource=src, CopySourceIfMatch=etag, CopySourceRange="bytes=2-5")
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(b"2345").hexdigest()
    complete(s3, bucket, "dst", uid, [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}])
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"2345"


# ---------------------------------------------------------------- conditional completion

def test_conditional_complete(s3, bucket):
    parts = [b"first version"]
    uid, done = upload(s3, bucket, "k", parts)
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-None-Match": "*"})
    try:
        assert complete(s3, bucket, "k", uid, done)["ETag"] == mp_etag(parts)
        uid2, done2 = upload(s3, bucket, "k", [b"second"])
        assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid2, parts=done2) == \
            (412, "PreconditionFailed")
    finally:
        undo()
    # The failed completion left the upload in place.
    assert len(s3.list_parts(Bucket=bucket, Key="k", UploadId=uid2)["Parts"]) == 1
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-Match": '"0123"'})
    try:
        assert err(complete, s3=s3, bucket=bucket, key="k", uid=uid2, parts=done2) == \
            (412, "PreconditionFailed")
    finally:
        undo()
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-Match": mp_etag(parts)})
    try:
        assert complete(s3, bucket, "k", uid2, done2)["ETag"] == mp_etag([b"second"])
    finally:
        undo()
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"
    uid3, done3 = upload(s3, bucket, "new", [b"x"])
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-Match": mp_etag(parts)})
    try:
        assert err(complete, s3=s3, bucket=bucket, key="new", uid=uid3, parts=done3) == \
            (412, "PreconditionFailed")
    finally:
        undo()
    s3.abort_multipart_upload(Bucket=bucket, Key="new", UploadId=uid3)


# ---------------------------------------------------------------- checksums

CK = {
    "CRC32": (lambda d: (zlib.crc32(d) & 0xFFFFFFFF).to_bytes(4, "big")),
    "CRC32C": (lambda d: crc32c(d).to_bytes(4, "big")),
    "SHA1": (lambda d: hashlib.sha1(d).digest()),
    "SHA256": (lambda d: hashlib.sha256(d).digest()),
}


@pytest.mark.parametrize("alg", sorted(CK))
def test_composite_checksums(s3, bucket, alg):
    parts = [det_bytes("ck/%s/%d" % (alg, i), PART) for i in range(2)] + [b"tail bytes"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm=alg)["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=i, Body=p,
                           ChecksumAlgorithm=alg)
        assert r["Checksum" + alg] == b64(CK[alg](p))
        done.append({"PartNumber": i, "ETag": r["ETag"], "Checksum" + alg: r["Checksum" + alg]})
    lp = s3.list_parts(Bucket=bucket, Key="ck", UploadId=uid)
    assert lp["ChecksumAlgorithm"] == alg
    assert [p["Checksum" + alg] for p in lp["Parts"]] == [d["Checksum" + alg] for d in done]
    ups = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u.get("ChecksumAlgorithm") for u in ups] == [alg]
    # A wrong part checksum in the list is a wrong part.
    bad = [dict(done[0], **{"Checksum" + alg: done[1]["Checksum" + alg]})] + done[1:]
    assert err(complete, s3=s3, bucket=bucket, key="ck", uid=uid, parts=bad) == \
        (400, "InvalidPart")
    want = "%s-%d" % (b64(CK[alg](b"".join(CK[alg](p) for p in parts))), len(parts))
    r = complete(s3, bucket, "ck", uid, done)
    assert r["Checksum" + alg] == want
    h = s3.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert h["Checksum" + alg] == want
    assert h["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "COMPOSITE"
    g = s3.get_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert g["Body"].read() == b"".join(parts)
    # A part of a composite object answers with the part's own checksum.
    g = s3.get_object(Bucket=bucket, Key="ck", PartNumber=2, ChecksumMode="ENABLED")
    assert g["Checksum" + alg] == done[1]["Checksum" + alg]
    assert g["Body"].read() == parts[1]
    # A copy is a single object: its checksum is that of the whole content.
    s3.copy_object(Bucket=bucket, Key="ck-copy", CopySource={"Bucket": bucket, "Key": "ck"})
    h = s3.head_object(Bucket=bucket, Key="ck-copy", ChecksumMode="ENABLED")
    assert h["Checksum" + alg] == b64(CK[alg](b"".join(parts)))
    assert "x-amz-checksum-type" not in h["ResponseMetadata"]["HTTPHeaders"]


def test_part_checksum_computed_when_absent(s3, bucket, raw):
    """A client that announces CRC32 at creation but sends parts without checksums still
    gets the composite value."""
    parts = [det_bytes("ckabs/%d" % i, PART) for i in range(2)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = raw.request("PUT", "/%s/k" % bucket, query=[("partNumber", str(i)),
                                                        ("uploadId", uid)], body=p)
        assert r.status == 200, r
        assert r.headers["x-amz-checksum-crc32"] == b64(CK["CRC32"](p))
        done.append({"PartNumber": i, "ETag": r.headers["ETag"]})
    # A part with another algorithm is refused.
    r = raw.request("PUT", "/%s/k" % bucket, query=[("partNumber", "3"), ("uploadId", uid)],
                    body=b"x", headers={"x-amz-checksum-sha256": b64(hashlib.sha256(b"x").digest())})
    assert (r.status, r.code) == (400, "InvalidRequest"), r
    r = complete(s3, bucket, "k", uid, done)
    assert r["ChecksumCRC32"] == "%s-2" % b64(CK["CRC32"](b"".join(CK["CRC32"](p) for p in parts)))
    # A bad part checksum is BadDigest, and nothing is stored.
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k2", ChecksumAlgorithm="CRC32")["UploadId"]
    r = raw.request("PUT", "/%s/k2" % bucket, query=[("partNumber", "1"), ("uploadId", uid)],
                    body=b"abc", headers={"x-amz-checksum-crc32": b64(CK["CRC32"](b"abd"))})
    assert (r.status, r.code) == (400, "BadDigest"), r
    assert "Parts" not in s3.list_parts(Bucket=bucket, Key="k2", UploadId=uid)
    s3.abort_multipart_upload(Bucket=bucket, Key="k2", UploadId=uid)


FULL = {
    "CRC32": (lambda d: zlib.crc32(d) & 0xFFFFFFFF, 4),
    "CRC32C": (crc32c, 4),
    "CRC64NVME": (crc64nvme, 8),
}


@pytest.mark.parametrize("alg", sorted(FULL))
def test_full_object_checksums(s3, bucket, raw, alg):
    fn, n = FULL[alg]
    # Two parts keep the pure-Python CRCs of the reference quick enough.
    parts = [det_bytes("full/%s" % alg, PART), det_bytes("full/%s/2" % alg, 3000)]
    undo = with_headers(s3, "CreateMultipartUpload", {"x-amz-checksum-algorithm": alg,
                                                      "x-amz-checksum-type": "FULL_OBJECT"})
    try:
        r = s3.create_multipart_upload(Bucket=bucket, Key="full")
    finally:
        undo()
    uid = r["UploadId"]
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "FULL_OBJECT"
    hdr = "x-amz-checksum-" + alg.lower()
    done = []
    for i, p in enumerate(parts, 1):
        r = raw.request("PUT", "/%s/full" % bucket, query=[("partNumber", str(i)),
                                                           ("uploadId", uid)],
                        body=p, headers={hdr: b64(fn(p).to_bytes(n, "big"))})
        assert r.status == 200, r
        done.append({"PartNumber": i, "ETag": r.headers["ETag"]})
    want = b64(fn(b"".join(parts)).to_bytes(n, "big"))
    # A whole-object checksum sent along must match; so must the type.
    for extra, code in (({hdr: b64(b"\0" * n)}, "BadDigest"),
                        ({"x-amz-checksum-type": "COMPOSITE"}, "InvalidRequest")):
        undo = with_headers(s3, "CompleteMultipartUpload", extra)
        try:
            assert err(complete, s3=s3, bucket=bucket, key="full", uid=uid, parts=done)[1] == code
        finally:
            undo()
    undo = with_headers(s3, "CompleteMultipartUpload", {hdr: want})
    try:
        r = complete(s3, bucket, "full", uid, done)
    finally:
        undo()
    body = r["ResponseMetadata"]["HTTPHeaders"]
    h = raw.request("HEAD", "/%s/full" % bucket, headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.headers[hdr] == want, (h, body)
    assert h.headers["x-amz-checksum-type"] == "FULL_OBJECT"


def test_checksum_type_errors(raw, bucket):
    def create(headers):
        return raw.request("POST", "/%s/k" % bucket, query=[("uploads", "")], headers=headers)
    for headers in ({"x-amz-checksum-algorithm": "MD5"},
                    {"x-amz-checksum-type": "COMPOSITE"},
                    {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
                    {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
                    {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "PARTIAL"}):
        r = create(headers)
        assert (r.status, r.code) == (400, "InvalidRequest"), (headers, r)


# ---------------------------------------------------------------- concurrency

def test_get_streams_one_version_while_overwritten(server, s3, bucket):
    """A GET that is still streaming a multipart object keeps reading the version it started
    with, whole, while the key is overwritten and the collector runs; the old parts go once
    the GET is done."""
    size_a = PART + 3331
    a = [det_bytes("race/a/%d" % i, size_a) for i in range(6)]
    b = [det_bytes("race/b/%d" % i, PART + 4441) for i in range(2)]
    put_multipart(s3, bucket, "hot", a)
    g = s3.get_object(Bucket=bucket, Key="hot")
    body = g["Body"]
    first = body.read(MiB)
    # Overwrite, then make sure the collector has run a pass since: a deleted plain object's
    # blob disappears only through it.
    put_multipart(s3, bucket, "hot", b)
    marker = det_bytes("race/marker", 777001)
    s3.put_object(Bucket=bucket, Key="marker", Body=marker)
    s3.delete_object(Bucket=bucket, Key="marker")
    wait_until(lambda: not blob_files(server, len(marker)), "a collector pass")
    assert len(blob_files(server, size_a)) == 6, "leased segments were collected"
    rest = body.read()
    assert first + rest == b"".join(a)
    body.close()
    assert s3.get_object(Bucket=bucket, Key="hot")["Body"].read() == b"".join(b)
    wait_until(lambda: not blob_files(server, size_a), "the old segments to go after the GET")


def test_concurrent_reads_and_overwrites(s3, bucket):
    versions = [[det_bytes("cro/%d/%d" % (v, i), PART + v) for i in range(2)] for v in range(3)]
    wholes = {mp_etag(p): b"".join(p) for p in versions}
    put_multipart(s3, bucket, "k", versions[0])
    stop = threading.Event()

    def reader(i):
        while not stop.is_set():
            g = s3.get_object(Bucket=bucket, Key="k")
            data = g["Body"].read()
            assert wholes[g["ETag"]] == data, "a body mixes versions"

    errors = []

    def writer():
        try:
            for n in range(1, 7):
                put_multipart(s3, bucket, "k", versions[n % 3])
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
        finally:
            stop.set()

    t = threading.Thread(target=writer)
    t.start()
    try:
        run_threads(4, reader)
    finally:
        stop.set()
        t.join()
    if errors:
        raise errors[0]


@pytest.mark.slow
def test_parallel_uploads(s3, bucket):
    """20 multipart uploads of 64 MiB at once, each read back bit for bit."""
    n, size, part = 20, 64 * MiB, 8 * MiB
    etags = {}

    def one(i):
        key = "par/%02d" % i
        gen = GeneratedStream("par/%d" % i, size)
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        done, md5s = [], b""
        for pn in range(1, size // part + 1):
            data = gen.read(part)
            r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=pn, Body=data)
            md5s += hashlib.md5(data).digest()
            done.append({"PartNumber": pn, "ETag": r["ETag"]})
        r = complete(s3, bucket, key, uid, done)
        etags[i] = r["ETag"]
        assert r["ETag"] == '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(done))

    run_threads(n, one)

    def check(i):
        key = "par/%02d" % i
        g = s3.get_object(Bucket=bucket, Key=key)
        assert g["ContentLength"] == size and g["ETag"] == etags[i]
        gen = GeneratedStream("par/%d" % i, size)
        body = g["Body"]
        pos = 0
        while True:
            piece = body.read(4 * MiB)
            if not piece:
                break
            assert piece == gen.read(len(piece)), "%s differs near byte %d" % (key, pos)
            pos += len(piece)
        assert pos == size

    run_threads(n, check)


@pytest.mark.slow
def test_aws_cli_cp_goes_multipart(aws, s3, bucket, workdir):
    size = 200 * MiB
    src = os.path.join(workdir, "big.bin")
    gen = GeneratedStream("cli-200", size)
    sha = hashlib.sha256()
    with open(src, "wb") as f:
        for i in range(-(-size // gen.BLOCK)):
            blk = gen.block(i)
            f.write(blk)
            sha.update(blk)
    # A fresh configuration: the CLI's own multipart defaults (8 MiB threshold and parts).
    with open(aws.config, "w") as f:
        f.write("[default]\nregion = us-east-1\n")
    aws("s3", "cp", src, "s3://%s/cli/big.bin" % bucket)
    h = s3.head_object(Bucket=bucket, Key="cli/big.bin")
    assert h["ContentLength"] == size
    assert "-" in h["ETag"], "the CLI did not upload in parts: %s" % h["ETag"]
    assert s3.head_object(Bucket=bucket, Key="cli/big.bin", PartNumber=1)["PartsCount"] > 1
    dst = os.path.join(workdir, "back.bin")
    aws("s3", "cp", "s3://%s/cli/big.bin" % bucket, dst)
    got = hashlib.sha256()
    with open(dst, "rb") as f:
        for blk in iter(lambda: f.read(4 * MiB), b""):
            got.update(blk)
    assert os.path.getsize(dst) == size and got.hexdigest() == sha.hexdigest()
