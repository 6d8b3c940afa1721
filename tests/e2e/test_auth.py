"""Signature V4: header auth failures, clock skew, regions, presigned URLs."""
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ROOT_AK, ROOT_SK
from s3util import amz_now, http_send, obj_path, presign_query, sign_headers, wire_query


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------- anonymous

def test_anonymous_requests_denied(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret data")
    for method, path in [("GET", "/"), ("GET", obj_path(bucket)), ("GET", obj_path(bucket, "k")),
                         ("DELETE", obj_path(bucket, "k")), ("PUT", obj_path(bucket + "-x")),
                         ("DELETE", obj_path(bucket))]:
        r = raw.unsigned(method, path)
        assert r.status == 403, (method, path, r)
        assert r.code == "AccessDenied", (method, path, r)
        assert b"secret data" not in r.body
    r = raw.unsigned("HEAD", obj_path(bucket, "k"))
    assert r.status == 403 and r.body == b""
    r = raw.unsigned("PUT", obj_path(bucket, "anon"), body=b"x")
    assert r.status == 403 and r.code == "AccessDenied"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="anon")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret data"


def test_anonymous_boto3(server, bucket):
    from botocore import UNSIGNED
    from botocore.config import Config
    import boto3
    c = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1},
                      s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket=bucket)
    assert err(e) == ("AccessDenied", 403)


# ---------------------------------------------------------------- bad credentials

def test_wrong_secret(server, bucket):
    c = server.client(secret="X" * 40)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert err(e) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert err(e) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError):
        server.client().head_object(Bucket=bucket, Key="k")


def test_unknown_access_key(server, bucket):
    c = server.client(access_key="CFNOSUCHKEY000000000")
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket=bucket)
    assert err(e) == ("InvalidAccessKeyId", 403)


def test_signature_mismatch_document(raw, bucket):
    # S3 explains a mismatch with the string to sign and canonical request it computed;
    # whatever the server sends, it must match what the client signed and never carry
    # the signature the server expected.
    path = obj_path(bucket, "doc key")
    h, ctx = raw.prepare("GET", path, secret="W" * 40)
    r = raw.send("GET", path, headers=h)
    assert r.status == 403, r
    e = r.error
    assert e["Code"] == "SignatureDoesNotMatch"
    assert e["RequestId"] == r.headers["x-amz-request-id"]
    if "StringToSign" in e:
        assert e["StringToSign"] == ctx.string_to_sign
    if "CanonicalRequest" in e:
        assert e["CanonicalRequest"] == ctx.canonical_request
    if "AWSAccessKeyId" in e:
        assert e["AWSAccessKeyId"] == ROOT_AK
    _, good = raw.prepare("GET", path, amz_date=ctx.amz_date)
    assert good.signature.encode() not in r.body
    assert ROOT_SK.encode() not in r.body


def test_tampered_signed_header(raw, s3, bucket):
    path = obj_path(bucket, "t")
    h, _ = raw.prepare("PUT", path, headers={"x-amz-meta-who": "alice"}, body=b"x")
    h["x-amz-meta-who"] = "mallory"
    r = raw.send("PUT", path, headers=h, body=b"x")
    assert r.status == 403 and r.code == "SignatureDoesNotMatch", r
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="t")


def test_tampered_path_and_query(raw, bucket):
    raw.request("PUT", obj_path(bucket, "a"), body=b"x")
    h, _ = raw.prepare("GET", obj_path(bucket, "a"))
    r = raw.send("GET", obj_path(bucket, "b"), headers=h)
    assert r.status == 403 and r.code == "SignatureDoesNotMatch", r
    h, _ = raw.prepare("GET", obj_path(bucket), query=[("list-type", "2")])
    r = raw.send("GET", obj_path(bucket), query=[("list-type", "2"), ("prefix", "z")], headers=h)
    assert r.status == 403 and r.code == "SignatureDoesNotMatch", r


def test_malformed_authorization_header(raw, bucket):
    for value in ["AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/s3/aws4_request" % ROOT_AK,
                  "AWS4-HMAC-SHA256 Credential=onlyone, SignedHeaders=host, Signature=00",
                  "AWS4-HMAC-SHA256 garbage"]:
        h = {"host": raw.host, "x-amz-date": amz_now(),
             "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "authorization": value}
        r = raw.send("GET", obj_path(bucket), headers=h)
        assert r.status in (400, 403), (value, r)
        assert r.code in ("AuthorizationHeaderMalformed", "InvalidArgument", "AccessDenied",
                          "SignatureDoesNotMatch"), (value, r)


def test_wrong_region_in_scope(server, bucket):
    c = server.client(region="eu-west-1")
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket=bucket)
    assert err(e) == ("AuthorizationHeaderMalformed", 400)


def test_region_auto_accepts_any_region(start_server, bucket_name):
    srv = start_server(region="auto")
    for region in ("auto", "us-east-1", "eu-central-1"):
        c = srv.client(region=region)
        name = "%s-%s" % (bucket_name[:40], region.replace("-", ""))
        c.create_bucket(Bucket=name)
        c.put_object(Bucket=name, Key="k", Body=region.encode())
        assert c.get_object(Bucket=name, Key="k")["Body"].read() == region.encode()


# ---------------------------------------------------------------- clock skew

@pytest.mark.parametrize("offset_s,ok", [(-20 * 60, False), (-10 * 60, True), (10 * 60, True),
                                         (20 * 60, False), (-86400, False)])
def test_request_time_skew(raw, bucket, offset_s, ok):
    r = raw.request("GET", obj_path(bucket), query=[("list-type", "2")],
                    amz_date=amz_now(offset_s))
    if ok:
        assert r.status == 200, r
    else:
        assert r.status == 403, r
        assert r.code == "RequestTimeTooSkewed", r


def test_server_clock_skewed_an_hour(start_server):
    srv = start_server(args=["--debug-clock-offset-ms", "3600000"])
    with pytest.raises(ClientError) as e:
        srv.client().list_buckets()
    assert err(e) == ("RequestTimeTooSkewed", 403)
    r = srv.raw().request("PUT", "/skewed", body=b"")
    assert r.status == 403 and r.code == "RequestTimeTooSkewed", r


def test_server_clock_offset_env(start_server):
    # Every flag has an environment variable too.
    srv = start_server(env={"COFFER_DEBUG_CLOCK_OFFSET_MS": "-3600000"})
    with pytest.raises(ClientError) as e:
        srv.client().list_buckets()
    assert err(e) == ("RequestTimeTooSkewed", 403)


# ---------------------------------------------------------------- presigned URLs

def test_presigned_get_and_put(s3, bucket):
    key = "pre/sig ned+ü.txt"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=300)
    r = requests.put(put_url, data=b"presigned body", timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers.get("ETag")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"presigned body"
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=300)
    r = requests.get(get_url, timeout=60)
    assert r.status_code == 200, r.text
    assert r.content == b"presigned body"
    assert r.headers.get("x-amz-request-id")


def test_presigned_get_with_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dl", Body=b"download")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "dl", "ResponseContentDisposition": "attachment; filename=x.bin",
        "ResponseContentType": "application/x-test"}, ExpiresIn=60)
    r = requests.get(url, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Disposition"] == "attachment; filename=x.bin"
    assert r.headers["Content-Type"] == "application/x-test"


def test_presigned_head_and_list(s3, bucket):
    s3.put_object(Bucket=bucket, Key="h", Body=b"12345")
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "h"})
    r = requests.head(url, timeout=60)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "5"
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and b"<Key>h</Key>" in r.content


def test_presigned_tampered(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
    r = requests.get(url.replace("/a?", "/b?"), timeout=60)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.text
    r = requests.get(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601"), timeout=60)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content, r.text
    # a presigned GET is not a presigned PUT
    r = requests.put(url, data=b"overwrite", timeout=60)
    assert r.status_code == 403, r.text
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"a"


def test_presigned_wrong_secret_and_unknown_key(server, bucket):
    bad = server.client(secret="Y" * 40)
    url = bad.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"})
    r = requests.get(url, timeout=60)
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content, r.text
    unk = server.client(access_key="CFUNKNOWN00000000000")
    url = unk.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"})
    r = requests.get(url, timeout=60)
    assert r.status_code == 403 and b"<Code>InvalidAccessKeyId</Code>" in r.content, r.text


def test_presigned_expired(start_server):
    # The server's clock runs 10 s ahead: a URL valid for 1 s is already expired.
    srv = start_server(args=["--debug-clock-offset-ms", "10000"])
    c = srv.client()
    c.create_bucket(Bucket="exp")
    c.put_object(Bucket="exp", Key="k", Body=b"x")
    url = c.generate_presigned_url("get_object", Params={"Bucket": "exp", "Key": "k"},
                                   ExpiresIn=1)
    r = requests.get(url, timeout=60)
    assert r.status_code == 403, r.text
    assert b"<Code>AccessDenied</Code>" in r.content, r.text
    assert b"expired" in r.content.lower(), r.text
    url = c.generate_presigned_url("get_object", Params={"Bucket": "exp", "Key": "k"},
                                   ExpiresIn=60)
    assert requests.get(url, timeout=60).status_code == 200


@pytest.mark.parametrize("expires,ok", [(604800, True), (604801, False), (10 ** 9, False)])
def test_presigned_expires_limit(s3, bucket, expires, ok):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"},
                                    ExpiresIn=expires)
    r = requests.get(url, timeout=60)
    if ok:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 400, r.text
        assert b"<Code>AuthorizationQueryParametersError</Code>" in r.content, r.text


def test_presigned_by_hand_with_unicode_key(raw, s3, bucket):
    key = "häns/grüße & co.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hand")
    path = obj_path(bucket, key)
    q = presign_query("GET", path, [], raw.host, ROOT_AK, ROOT_SK)
    r = http_send(raw.port, "GET", path + "?" + wire_query(q), {"Host": raw.host})
    assert r.status == 200, r
    assert r.body == b"hand"


def test_presigned_in_the_future_is_not_valid_yet(raw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="f", Body=b"x")
    path = obj_path(bucket, "f")
    q = presign_query("GET", path, [], raw.host, ROOT_AK, ROOT_SK, amz_date=amz_now(3600),
                      expires=60)
    r = http_send(raw.port, "GET", path + "?" + wire_query(q), {"Host": raw.host})
    assert r.status == 403, r
    assert r.code in ("AccessDenied", "RequestTimeTooSkewed"), r


def test_signed_headers_and_query_both(raw, bucket):
    # Only one authentication mechanism per request.
    path = obj_path(bucket)
    q = presign_query("GET", path, [], raw.host, ROOT_AK, ROOT_SK)
    h, _ = sign_headers("GET", path, q, {"host": raw.host}, "UNSIGNED-PAYLOAD", ROOT_AK, ROOT_SK)
    r = http_send(raw.port, "GET", path + "?" + wire_query(q), h)
    assert r.status == 400, r
    assert r.code in ("InvalidArgument", "InvalidRequest"), r

