"""Object keys: any UTF-8 up to 1024 bytes, with SigV4's and S3's exact URI rules."""
import pytest
from botocore.exceptions import ClientError

from s3util import obj_path, parse_xml, uri_encode

ODD_KEYS = [
    "plain",
    "with space",
    "two  spaces and trailing ",
    "plus+sign",
    "percent%sign",
    "percent%20encoded-looking",
    "a/b/c",
    "double//slash",
    "/leading-slash",
    "//two-leading",
    "trailing/",
    "ünïcödé/日本語/😀",
    "tilde~and-dash_dot.",
    "query?x=1&y=2#frag",
    "semi;colon:at@comma,dollar$bang!star*parens()brackets[]",
    "quote\"apos'lt<gt>amp&",
    "back\\slash",
    "caret^pipe|brace{}grave`",
    "tab\tand\nnewline",
    "=equals",
    "  leading spaces",
]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_key_round_trip(s3, bucket, key):
    body = ("body of " + key).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_similar_keys_are_distinct(s3, bucket):
    keys = ["a b", "a+b", "a%20b", "a%2Bb", "a/b", "a//b", "/a/b", "a/b/", "A b"]
    for i, k in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=k, Body=str(i).encode())
    for i, k in enumerate(keys):
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == str(i).encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def put_raw_path(raw, wire_path, canonical_path, body):
    """S3 decodes the path once and signs its SigV4 re-encoding, whatever escapes the client
    chose on the wire (an unencoded '=' is signed as %3D, '%c3' as %C3)."""
    h, _ = raw.prepare("PUT", canonical_path, body=body)
    return raw.send("PUT", wire_path, headers=h, body=body)


def test_raw_plus_in_path_is_a_plus(raw, s3, bucket):
    # In a path '+' is a literal plus, never a space; %2B is a plus too.
    r = put_raw_path(raw, "/%s/x+y" % bucket, obj_path(bucket, "x+y"), b"plus")
    assert r.status == 200, r
    assert s3.get_object(Bucket=bucket, Key="x+y")["Body"].read() == b"plus"
    r = raw.request("GET", "/%s/x%%2By" % bucket)
    assert r.status == 200 and r.body == b"plus"
    r = raw.request("GET", "/%s/x%%20y" % bucket)
    assert r.status == 404, r


def test_raw_lowercase_percent_escapes(raw, s3, bucket):
    r = put_raw_path(raw, "/%s/%%c3%%bc" % bucket, obj_path(bucket, "ü"), b"u-umlaut")
    assert r.status == 200, r
    assert s3.get_object(Bucket=bucket, Key="ü")["Body"].read() == b"u-umlaut"


def test_raw_unencoded_safe_chars_in_path(raw, s3, bucket):
    # Characters some clients leave unencoded in paths: $ & , : ; = @ ! * ' ( )
    key = "a$b&c,d:e;f=g@h!i*j'k(l)m"
    r = put_raw_path(raw, "/%s/%s" % (bucket, key), obj_path(bucket, key), b"safe")
    assert r.status == 200, r
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"safe"


def test_raw_encoded_slash_is_a_slash(raw, s3, bucket):
    r = put_raw_path(raw, "/%s/d%%2Fe" % bucket, obj_path(bucket, "d/e"), b"slash")
    assert r.status == 200, r
    assert s3.get_object(Bucket=bucket, Key="d/e")["Body"].read() == b"slash"


def test_key_1024_bytes_ok(s3, bucket):
    for key in ("k" * 1024, "é" * 512, "d/" * 512):
        assert len(key.encode()) == 1024
        s3.put_object(Bucket=bucket, Key=key, Body=b"max")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"max"
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]]
        assert listed == [key]


@pytest.mark.parametrize("key", ["k" * 1025, "é" * 512 + "k", "日" * 342])
def test_key_too_long(s3, raw, bucket, key):
    assert len(key.encode()) > 1024
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    assert e.value.response["Error"]["Code"] == "KeyTooLongError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    r = raw.request("PUT", obj_path(bucket, key), body=b"x")
    assert r.status == 400 and r.code == "KeyTooLongError", r
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_invalid_utf8_key_rejected(raw, bucket):
    # S3 keys are UTF-8; a path that decodes to invalid UTF-8 is refused, not stored.
    r = raw.request("PUT", "/%s/%%FF%%FE" % bucket, body=b"x")
    assert 400 <= r.status < 500, r
    lst = raw.request("GET", "/" + bucket, query=[("list-type", "2")])
    assert parse_xml(lst.body).findtext("KeyCount") == "0"


def test_key_with_dot_segments_is_literal(raw, bucket):
    # S3 does not normalise paths: "a/./b" and "a/../b" are keys of their own.
    for key in ("a/./b", "a/../b"):
        r = raw.request("PUT", "/%s/%s" % (bucket, key), body=key.encode())
        assert r.status == 200, (key, r)
    for key in ("a/./b", "a/../b"):
        r = raw.request("GET", "/%s/%s" % (bucket, key))
        assert r.status == 200 and r.body == key.encode(), (key, r)
    r = raw.request("GET", "/%s/b" % bucket)
    assert r.status == 404


def test_uri_encode_helper_sanity():
    assert uri_encode("a b+c/d", keep_slash=True) == "a%20b%2Bc/d"
