"""Buckets: ListBuckets, CreateBucket (naming rules, CreateBucketConfiguration),
HeadBucket, DeleteBucket, GetBucketLocation."""
import datetime

import pytest
from botocore.exceptions import ClientError

from s3util import obj_path, parse_xml


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_create_head_list_delete(s3, bucket_name):
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    r = s3.create_bucket(Bucket=bucket_name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Location"] == "/" + bucket_name
    assert s3.head_bucket(Bucket=bucket_name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    listing = s3.list_buckets()
    names = [b["Name"] for b in listing["Buckets"]]
    assert bucket_name in names
    assert names == sorted(names)
    created = [b for b in listing["Buckets"] if b["Name"] == bucket_name][0]["CreationDate"]
    assert created > before
    assert listing["Owner"]["ID"]
    r = s3.delete_bucket(Bucket=bucket_name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket_name)
    assert err(e)[1] == 404


def test_create_existing_owned_bucket(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket)
    assert err(e) == ("BucketAlreadyOwnedByYou", 409)


def test_delete_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket_name)
    assert err(e) == ("NoSuchBucket", 404)


def test_head_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket_name)
    assert err(e)[1] == 404


def test_delete_non_empty_bucket(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert err(e) == ("BucketNotEmpty", 409)
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_recreate_after_delete(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="old", Body=b"x")
    s3.delete_object(Bucket=bucket_name, Key="old")
    s3.delete_bucket(Bucket=bucket_name)
    s3.create_bucket(Bucket=bucket_name)
    assert s3.list_objects_v2(Bucket=bucket_name)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket_name)


INVALID_NAMES = [
    "ab",                      # too short
    "a" * 64,                  # too long
    "MyBucket",                # uppercase
    "my_bucket",               # underscore
    "-bucket",                 # must start with a letter or digit
    "bucket-",                 # must end with a letter or digit
    ".bucket",
    "bucket.",
    "my..bucket",              # adjacent periods
    "192.168.5.4",             # formatted as an IP address
    "xn--bucket",              # reserved prefix
    "sthree-bucket",           # reserved prefix
    "bucket-s3alias",          # reserved suffix
    "bucket--ol-s3",           # reserved suffix
]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_bucket_name(s3, name):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert err(e) == ("InvalidBucketName", 400)


@pytest.mark.parametrize("name", ["bad name", "a%20b", "a:b"])
def test_invalid_bucket_name_raw(raw, name):
    # Names boto3 refuses to send.
    from s3util import uri_encode
    r = raw.request("PUT", "/" + uri_encode(name))
    assert r.status == 400, r
    assert r.code == "InvalidBucketName", r


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket-1", "123", "a-b.c-d.e0"])
def test_valid_bucket_names(s3, name):
    s3.create_bucket(Bucket=name)
    try:
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        s3.delete_bucket(Bucket=name)


def test_get_bucket_location_default_region(s3, bucket):
    # us-east-1 buckets report an empty LocationConstraint, as in S3.
    r = s3.get_bucket_location(Bucket=bucket)
    assert r.get("LocationConstraint") in (None, "")


def test_get_bucket_location_missing_bucket(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_location(Bucket=bucket_name)
    assert err(e) == ("NoSuchBucket", 404)


def test_create_bucket_configuration_other_region(start_server, bucket_name):
    srv = start_server(region="eu-west-1")
    c = srv.client()
    c.create_bucket(Bucket=bucket_name,
                    CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert c.get_bucket_location(Bucket=bucket_name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        c.create_bucket(Bucket=bucket_name + "x",
                        CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert err(e) == ("IllegalLocationConstraintException", 400)
    names = [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert names == [bucket_name]


def test_create_bucket_configuration_wrong_region(s3, bucket_name):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket_name,
                         CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert err(e) == ("IllegalLocationConstraintException", 400)
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket_name)


def test_create_bucket_configuration_empty_body_element(raw, s3, bucket_name):
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b'</CreateBucketConfiguration>')
    r = raw.request("PUT", obj_path(bucket_name), body=body)
    assert r.status == 200, r
    assert s3.head_bucket(Bucket=bucket_name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_bucket(Bucket=bucket_name)


@pytest.mark.parametrize("body", [
    b"<CreateBucketConfiguration><LocationConstraint>us-east-1",        # unterminated
    b"this is not xml",
    b"<CreateBucketConfiguration></Wrong>",
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
    b"<CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint>"
    b"</CreateBucketConfiguration>",                                     # external entity
])
def test_create_bucket_malformed_xml(raw, s3, bucket_name, body):
    r = raw.request("PUT", obj_path(bucket_name), body=body)
    assert r.status == 400, r
    assert r.code in ("MalformedXML",), r
    assert b"root:" not in r.body
    assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_list_buckets_xml_shape(raw, bucket):
    r = raw.request("GET", "/")
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("application/xml")
    root = parse_xml(r.body)
    assert root.tag == "ListAllMyBucketsResult"
    assert root.find("Owner/ID") is not None
    names = [b.findtext("Name") for b in root.findall("Buckets/Bucket")]
    assert bucket in names
    for b in root.findall("Buckets/Bucket"):
        # ISO 8601 with milliseconds and Z, as S3 sends it
        datetime.datetime.strptime(b.findtext("CreationDate"), "%Y-%m-%dT%H:%M:%S.%fZ")
