"""ListObjectsV2 and ListObjects (v1): prefix, delimiter, paging, start-after, marker,
encoding-type=url, fetch-owner. Results are compared with a listing computed locally
from the same keys in UTF-8 binary order."""
import hashlib
import random
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import empty_and_delete
from s3util import obj_path, parse_xml


def utf8(k):
    return k.encode("utf-8")


def make_keys():
    rnd = random.Random(20240601)
    keys = set()
    while len(keys) < 250:
        kind = rnd.randrange(8)
        n = rnd.randrange(60)
        if kind == 0:
            keys.add("top%03d" % n)
        elif kind == 1:
            keys.add("dir%d/file%03d" % (n % 4, n))
        elif kind == 2:
            keys.add("dir%d/sub%d/leaf%03d" % (n % 3, n % 2, n))
        elif kind == 3:
            keys.add("ünï/%03d-é" % n)
        elif kind == 4:
            keys.add("a b/c+d %03d" % n)
        elif kind == 5:
            keys.add("x-%d-y-%03d" % (n % 5, n))
        elif kind == 6:
            keys.add("日本/%03d" % n)
        else:
            keys.add("dir%d/file%03d/" % (n % 4, n))  # "directory marker" style keys
    return sorted(keys, key=utf8)


KEYS = make_keys()


def expected(keys, prefix="", delimiter=None, start_after=None):
    """(contents, common prefixes) as S3 would list them."""
    contents, cps = [], []
    for k in keys:
        if not k.startswith(prefix):
            continue
        if start_after is not None and utf8(k) <= utf8(start_after):
            continue
        if delimiter:
            i = k.find(delimiter, len(prefix))
            if i >= 0:
                cp = k[:i + len(delimiter)]
                if not cps or cps[-1] != cp:
                    cps.append(cp)
                continue
        contents.append(k)
    return contents, cps


@pytest.fixture(scope="module")
def listed_bucket(session_server):
    s3 = session_server.client()
    name = "t-list-module-%d" % session_server.port
    s3.create_bucket(Bucket=name)
    for i, k in enumerate(KEYS):
        s3.put_object(Bucket=name, Key=k, Body=str(i).encode())
    yield name
    if session_server.alive():
        empty_and_delete(s3, name)


def page_all_v2(s3, bucket, **kw):
    pages, token = [], None
    while True:
        args = dict(Bucket=bucket, **kw)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        pages.append(page)
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
        assert token
        assert len(pages) < 1000, "listing does not end"
    return pages


def flatten(pages):
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    cps = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    return keys, cps


@pytest.mark.parametrize("max_keys", [1000, 100, 7, 1])
def test_v2_paging_all_keys(server, listed_bucket, max_keys):
    s3 = server.client()
    pages = page_all_v2(s3, listed_bucket, MaxKeys=max_keys)
    keys, cps = flatten(pages)
    assert keys == KEYS
    assert cps == []
    for p in pages:
        n = len(p.get("Contents", []))
        assert p["KeyCount"] == n
        assert p["MaxKeys"] == max_keys
        assert n <= max_keys
    for p in pages[:-1]:
        assert p["IsTruncated"] and p["KeyCount"] == max_keys
    assert len(pages) == -(-len(KEYS) // max_keys)


def test_v2_default_max_keys(server, listed_bucket):
    page = server.client().list_objects_v2(Bucket=listed_bucket)
    assert page["MaxKeys"] == 1000
    assert page["KeyCount"] == len(KEYS)
    assert not page["IsTruncated"]
    assert page["Name"] == listed_bucket


def test_v2_entries(server, listed_bucket):
    s3 = server.client()
    page = s3.list_objects_v2(Bucket=listed_bucket, Prefix="top")
    for o in page["Contents"]:
        i = KEYS.index(o["Key"])
        body = str(i).encode()
        assert o["Size"] == len(body)
        assert o["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
        assert o["StorageClass"] == "STANDARD"
        assert o["LastModified"]
        assert "Owner" not in o  # V2 leaves the owner out unless fetch-owner=true


@pytest.mark.parametrize("prefix", ["dir1/", "dir", "ünï/", "a b/c+d 0", "日本/", "nomatch",
                                    "dir2/sub1/", "x-"])
def test_v2_prefix(server, listed_bucket, prefix):
    pages = page_all_v2(server.client(), listed_bucket, Prefix=prefix, MaxKeys=9)
    keys, cps = flatten(pages)
    assert keys == expected(KEYS, prefix)[0]
    assert all(p["Prefix"] == prefix for p in pages)


@pytest.mark.parametrize("prefix,delimiter,max_keys", [
    ("", "/", 1000), ("", "/", 3), ("", "/", 1), ("dir1/", "/", 1000), ("dir2/", "/", 2),
    ("dir0/sub0/", "/", 1000), ("", "-", 1000), ("x-", "-", 2), ("", "sub", 1000),
    ("dir", "/", 4), ("", "é", 5),
])
def test_v2_delimiter(server, listed_bucket, prefix, delimiter, max_keys):
    pages = page_all_v2(server.client(), listed_bucket, Prefix=prefix, Delimiter=delimiter,
                        MaxKeys=max_keys)
    keys, cps = flatten(pages)
    exp_keys, exp_cps = expected(KEYS, prefix, delimiter)
    assert keys == exp_keys
    assert cps == exp_cps  # each common prefix exactly once, in order
    for p in pages:
        n = len(p.get("Contents", [])) + len(p.get("CommonPrefixes", []))
        assert p["KeyCount"] == n
        assert n <= max_keys
        assert p["Delimiter"] == delimiter
    for p in pages[:-1]:
        n = len(p.get("Contents", [])) + len(p.get("CommonPrefixes", []))
        assert n == max_keys


@pytest.mark.parametrize("start_after", ["", "dir1/file030", "top", "zzz", "a", "日本/030",
                                         "dir1/file030/", "\u00ff"])
def test_v2_start_after(server, listed_bucket, start_after):
    pages = page_all_v2(server.client(), listed_bucket, StartAfter=start_after, MaxKeys=50)
    keys, _ = flatten(pages)
    assert keys == expected(KEYS, start_after=start_after)[0]
    assert pages[0].get("StartAfter", "") == start_after


def test_v2_start_after_missing_key_and_prefix(server, listed_bucket):
    pages = page_all_v2(server.client(), listed_bucket, StartAfter="dir1/file", Prefix="dir1/")
    keys, _ = flatten(pages)
    assert keys == expected(KEYS, "dir1/", start_after="dir1/file")[0]


def test_v2_continuation_token_wins_over_start_after(server, listed_bucket):
    s3 = server.client()
    first = s3.list_objects_v2(Bucket=listed_bucket, MaxKeys=10, StartAfter="dir")
    second = s3.list_objects_v2(Bucket=listed_bucket, MaxKeys=10, StartAfter="dir",
                                ContinuationToken=first["NextContinuationToken"])
    exp = expected(KEYS, start_after="dir")[0]
    assert [o["Key"] for o in first["Contents"]] == exp[:10]
    assert [o["Key"] for o in second["Contents"]] == exp[10:20]
    assert second["ContinuationToken"] == first["NextContinuationToken"]


def test_v2_bad_continuation_token(server, listed_bucket):
    with pytest.raises(ClientError) as e:
        server.client().list_objects_v2(Bucket=listed_bucket, ContinuationToken="!!not-a-token")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
def test_v2_bad_max_keys(raw, listed_bucket, value):
    r = raw.request("GET", obj_path(listed_bucket), query=[("list-type", "2"),
                                                           ("max-keys", value)])
    assert r.status == 400, r
    assert r.code == "InvalidArgument", r


def test_v2_fetch_owner(raw, listed_bucket):
    r = raw.request("GET", obj_path(listed_bucket), query=[("list-type", "2"),
                                                           ("prefix", "top"),
                                                           ("fetch-owner", "true")])
    assert r.status == 200, r
    root = parse_xml(r.body)
    contents = root.findall("Contents")
    assert contents
    for c in contents:
        assert c.findtext("Owner/ID")
    r = raw.request("GET", obj_path(listed_bucket), query=[("list-type", "2"),
                                                           ("prefix", "top")])
    assert all(c.find("Owner") is None for c in parse_xml(r.body).findall("Contents"))


def test_list_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket_name)
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.list_objects(Bucket=bucket_name)
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"


def test_list_empty_bucket(s3, bucket):
    page = s3.list_objects_v2(Bucket=bucket)
    assert page["KeyCount"] == 0
    assert "Contents" not in page
    assert page["IsTruncated"] is False


# ---------------------------------------------------------------- encoding-type and raw XML

ODD = ["a b", "a+b", "a%b", "x&y<z>\"'", "ü/é", "tab\tx", "new\nline", "q?x=1#f", "~._-",
       "sp ace/in dir/x", "plus+dir/y"]


@pytest.fixture
def odd_bucket(s3, bucket):
    for k in ODD:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    return bucket


def test_v2_raw_xml_without_encoding(raw, odd_bucket):
    r = raw.request("GET", obj_path(odd_bucket), query=[("list-type", "2")])
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("application/xml")
    root = parse_xml(r.body)
    assert root.tag == "ListBucketResult"
    assert root.find("EncodingType") is None
    keys = [c.findtext("Key") for c in root.findall("Contents")]
    assert keys == sorted(ODD, key=utf8)
    assert root.findtext("KeyCount") == str(len(ODD))
    assert root.findtext("IsTruncated") == "false"


def test_v2_encoding_type_url(raw, odd_bucket):
    r = raw.request("GET", obj_path(odd_bucket), query=[("list-type", "2"),
                                                        ("encoding-type", "url"),
                                                        ("delimiter", "/"),
                                                        ("prefix", ""),
                                                        ("start-after", "a b")])
    assert r.status == 200, r
    root = parse_xml(r.body)
    assert root.findtext("EncodingType") == "url"
    raw_keys = [c.findtext("Key") for c in root.findall("Contents")]
    raw_cps = [c.findtext("Prefix") for c in root.findall("CommonPrefixes")]
    for k in raw_keys + raw_cps:
        # url-encoded: nothing that needs escaping is left bare
        assert not set(k) & set(" \t\n&<>\"'?#"), k
    # clients decode with unquote_plus (botocore does): '+' must arrive as %2B
    keys = [urllib.parse.unquote_plus(k) for k in raw_keys]
    cps = [urllib.parse.unquote_plus(k) for k in raw_cps]
    exp_keys, exp_cps = expected(sorted(ODD, key=utf8), "", "/", "a b")
    assert keys == exp_keys
    assert cps == exp_cps
    assert urllib.parse.unquote_plus(root.findtext("StartAfter")) == "a b"
    assert urllib.parse.unquote_plus(root.findtext("Delimiter")) == "/"


def test_boto3_lists_odd_keys(s3, odd_bucket):
    # boto3 always asks for encoding-type=url and decodes.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=odd_bucket)["Contents"]]
    assert keys == sorted(ODD, key=utf8)
    keys = [o["Key"] for o in s3.list_objects(Bucket=odd_bucket)["Contents"]]
    assert keys == sorted(ODD, key=utf8)


def test_bad_encoding_type(raw, odd_bucket):
    r = raw.request("GET", obj_path(odd_bucket), query=[("list-type", "2"),
                                                        ("encoding-type", "base64")])
    assert r.status == 400, r
    assert r.code == "InvalidArgument", r


# ---------------------------------------------------------------- ListObjects v1

def page_all_v1(s3, bucket, use_next_marker, **kw):
    pages, marker = [], None
    while True:
        args = dict(Bucket=bucket, **kw)
        if marker is not None:
            args["Marker"] = marker
        page = s3.list_objects(**args)
        pages.append(page)
        if not page["IsTruncated"]:
            break
        if use_next_marker:
            marker = page["NextMarker"]
        else:
            marker = page["Contents"][-1]["Key"]
        assert len(pages) < 1000
    return pages


@pytest.mark.parametrize("max_keys", [1000, 13])
def test_v1_marker_paging(server, listed_bucket, max_keys):
    pages = page_all_v1(server.client(), listed_bucket, False, MaxKeys=max_keys)
    keys, cps = flatten(pages)
    assert keys == KEYS
    for p in pages:
        assert p["MaxKeys"] == max_keys
        assert "NextMarker" not in p  # only sent with a delimiter
        assert "Owner" in p["Contents"][0]  # v1 always lists the owner


@pytest.mark.parametrize("prefix,max_keys", [("", 3), ("dir1/", 2), ("", 1000)])
def test_v1_next_marker_with_delimiter(server, listed_bucket, prefix, max_keys):
    pages = page_all_v1(server.client(), listed_bucket, True, Prefix=prefix, Delimiter="/",
                        MaxKeys=max_keys)
    keys, cps = flatten(pages)
    exp_keys, exp_cps = expected(KEYS, prefix, "/")
    assert keys == exp_keys
    assert cps == exp_cps
    for p in pages[:-1]:
        assert p["IsTruncated"]
        last = max([o["Key"] for o in p.get("Contents", [])]
                   + [c["Prefix"] for c in p.get("CommonPrefixes", [])], key=utf8)
        assert p["NextMarker"] == last


def test_v1_marker(server, listed_bucket):
    page = server.client().list_objects(Bucket=listed_bucket, Marker="dir2/", MaxKeys=5)
    assert page["Marker"] == "dir2/"
    assert [o["Key"] for o in page["Contents"]] == expected(KEYS, start_after="dir2/")[0][:5]


def test_v1_raw_xml(raw, odd_bucket):
    r = raw.request("GET", obj_path(odd_bucket), query=[("max-keys", "3"), ("delimiter", "/")])
    assert r.status == 200, r
    root = parse_xml(r.body)
    assert root.tag == "ListBucketResult"
    assert root.findtext("IsTruncated") == "true"
    assert root.findtext("MaxKeys") == "3"
    assert root.findtext("NextMarker")
