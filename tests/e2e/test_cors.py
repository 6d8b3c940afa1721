"""Bucket CORS: Put/Get/DeleteBucketCors through boto3 and hand-signed requests (S3's errors
for bad documents), OPTIONS preflights (unsigned, allowed or refused from the rules, on
bucket and object paths, any subresource), and the Access-Control-* headers actual requests
from an allowed origin get, errors included; the IAM actions that guard the configuration."""
import pytest
from botocore.exceptions import ClientError

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_outcome  # noqa: E402
from s3util import md5_b64, obj_path, presign_query  # noqa: E402

VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
ACCESS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials",
                  "access-control-allow-methods", "access-control-allow-headers",
                  "access-control-expose-headers", "access-control-max-age")
DENIED = ("CORSResponse: This CORS request is not allowed. This is usually because the "
          "evalution of Origin, request method / Access-Control-Request-Method or "
          "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")


def cors_headers(resp):
    """The CORS headers of a raw response, by lowercase name (Vary too)."""
    out = {}
    for k, v in resp.headers.items():
        if k.lower() in ACCESS_HEADERS or k.lower() == "vary":
            out[k.lower()] = v
    return out


def error_code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return 200, None


def put_cors_raw(raw, bucket, body, md5=True):
    if isinstance(body, str):
        body = body.encode()
    headers = {"content-md5": md5_b64(body)} if md5 else {}
    return raw.request("PUT", obj_path(bucket), query=[("cors", "")], headers=headers, body=body)


def rules_xml(*rules):
    return ('<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s'
            '</CORSConfiguration>' % "".join("<CORSRule>%s</CORSRule>" % r for r in rules))


def preflight(raw, bucket, key=None, origin=None, method=None, headers=None, query=()):
    h = {}
    if origin is not None:
        h["Origin"] = origin
    if method is not None:
        h["Access-Control-Request-Method"] = method
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return raw.unsigned("OPTIONS", obj_path(bucket, key), query=query, headers=h)


STANDARD = [
    {"ID": "app", "AllowedOrigins": ["http://app.example"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["Content-Type", "x-amz-*"], "ExposeHeaders": ["ETag", "x-amz-meta-a"],
     "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]


# ---------------------------------------------------------------- configuration

def test_get_cors_without_configuration(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_cors(Bucket=bucket)
    err = ei.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["Error"]["Code"] == "NoSuchCORSConfiguration"
    assert err["Error"]["Message"] == "The CORS configuration does not exist"


def test_put_get_delete_roundtrip(s3, bucket):
    r = s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": STANDARD})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got == STANDARD
    # Replacing replaces, in order.
    new = [{"AllowedOrigins": ["http://b.example", "http://*.c.example"],
            "AllowedMethods": ["POST", "DELETE"]}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": new})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == new
    r = s3.delete_bucket_cors(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_code(s3.get_bucket_cors, Bucket=bucket) == (404, "NoSuchCORSConfiguration")
    # Deleting what is not there succeeds.
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_document_is_normalized(raw, bucket):
    body = ("<CORSConfiguration>\n <CORSRule>\n  <MaxAgeSeconds> 30 </MaxAgeSeconds>\n"
            "  <AllowedOrigin>http://x.example</AllowedOrigin>\n"
            "  <AllowedMethod>GET</AllowedMethod>\n  <ID>r1</ID>\n </CORSRule>\n"
            "</CORSConfiguration>")
    r = put_cors_raw(raw, bucket, body)
    assert r.status == 200, r
    r = raw.request("GET", obj_path(bucket), query=[("cors", "")])
    assert r.status == 200 and r.headers["Content-Type"] == "application/xml"
    assert b'<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in r.body
    assert r.body.endswith(b"<CORSRule><ID>r1</ID><AllowedMethod>GET</AllowedMethod>"
                           b"<AllowedOrigin>http://x.example</AllowedOrigin>"
                           b"<MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>")


def test_hundred_rules_is_the_limit(s3, raw, bucket):
    rules = [{"AllowedOrigins": ["http://o%d.example" % i], "AllowedMethods": ["GET"]}
             for i in range(100)]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100
    one = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
    r = put_cors_raw(raw, bucket, rules_xml(*[one] * 101))
    assert (r.status, r.code) == (400, "InvalidRequest"), r
    # The stored configuration is untouched.
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100


ORIGIN_GET = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"


@pytest.mark.parametrize("body,status,code,message", [
    ("<CORSConfiguration/>", 400, "MalformedXML", None),
    ("<CORSConfiguration><CORSRule/></CORSConfiguration>", 400, "MalformedXML", None),
    (rules_xml("<AllowedMethod>GET</AllowedMethod>"), 400, "MalformedXML", None),
    (rules_xml("<AllowedOrigin>*</AllowedOrigin>"), 400, "MalformedXML", None),
    (rules_xml(ORIGIN_GET + "<Bogus>1</Bogus>"), 400, "MalformedXML", None),
    (rules_xml(ORIGIN_GET + "<MaxAgeSeconds>ten</MaxAgeSeconds>"), 400, "MalformedXML", None),
    (rules_xml(ORIGIN_GET + "<MaxAgeSeconds>-1</MaxAgeSeconds>"), 400, "MalformedXML", None),
    (rules_xml(ORIGIN_GET + "<ID>a</ID><ID>b</ID>"), 400, "MalformedXML", None),
    ("<WrongRoot>" + "<CORSRule>" + ORIGIN_GET + "</CORSRule></WrongRoot>", 400,
     "MalformedXML", None),
    ("<CORSConfiguration><CORSRule>", 400, "MalformedXML", None),
    (rules_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"), 400,
     "InvalidRequest",
     "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"),
    (rules_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"), 400,
     "InvalidRequest",
     "Found unsupported HTTP method in CORS config. Unsupported method is get"),
    (rules_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod></AllowedMethod>"), 400,
     "InvalidRequest",
     "Found unsupported HTTP method in CORS config. Unsupported method is "),
    (rules_xml("<AllowedOrigin>*example*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
     400, "InvalidRequest", 'AllowedOrigin "*example*.com" can not have more than one wildcard.'),
    (rules_xml(ORIGIN_GET + "<AllowedHeader>x-*-*</AllowedHeader>"), 400, "InvalidRequest",
     'AllowedHeader "x-*-*" can not have more than one wildcard.'),
    (rules_xml(ORIGIN_GET + "<ExposeHeader>*</ExposeHeader>"), 400, "InvalidRequest", None),
    (rules_xml(ORIGIN_GET + "<ID>%s</ID>" % ("i" * 256)), 400, "InvalidArgument", None),
])
def test_put_cors_refused(raw, s3, bucket, body, status, code, message):
    r = put_cors_raw(raw, bucket, body)
    assert (r.status, r.code) == (status, code), r
    if message is not None:
        assert r.error["Message"] == message
    assert error_code(s3.get_bucket_cors, Bucket=bucket) == (404, "NoSuchCORSConfiguration")


def test_put_cors_accepts_the_limits(raw, s3, bucket):
    body = rules_xml("<ID>%s</ID><AllowedOrigin></AllowedOrigin><AllowedOrigin>http://*.x</AllowedOrigin>"
                     "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
                     "<AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>"
                     "<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader>"
                     "<MaxAgeSeconds>2147483647</MaxAgeSeconds>" % ("i" * 255))
    r = put_cors_raw(raw, bucket, body)
    assert r.status == 200, r
    rule = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["", "http://*.x"]
    assert rule["MaxAgeSeconds"] == 2147483647


def test_put_cors_needs_an_integrity_header(raw, bucket):
    r = put_cors_raw(raw, bucket, rules_xml(ORIGIN_GET), md5=False)
    assert (r.status, r.code) == (400, "InvalidRequest"), r
    assert "Content-MD5" in r.error["Message"]
    body = rules_xml(ORIGIN_GET).encode()
    r = raw.request("PUT", obj_path(bucket), query=[("cors", "")],
                    headers={"content-md5": md5_b64(b"other")}, body=body)
    assert (r.status, r.code) == (400, "BadDigest"), r


def test_cors_on_missing_bucket(s3, bucket_name):
    rules = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    assert error_code(s3.put_bucket_cors, Bucket=bucket_name,
                      CORSConfiguration=rules) == (404, "NoSuchBucket")
    assert error_code(s3.get_bucket_cors, Bucket=bucket_name) == (404, "NoSuchBucket")
    assert error_code(s3.delete_bucket_cors, Bucket=bucket_name) == (404, "NoSuchBucket")


def test_configuration_dies_with_the_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_cors(Bucket=bucket_name, CORSConfiguration={"CORSRules": STANDARD})
    s3.delete_bucket(Bucket=bucket_name)
    s3.create_bucket(Bucket=bucket_name)
    try:
        assert error_code(s3.get_bucket_cors, Bucket=bucket_name) == \
            (404, "NoSuchCORSConfiguration")
    finally:
        s3.delete_bucket(Bucket=bucket_name)


# ---------------------------------------------------------------- preflight

@pytest.fixture
def cors_bucket(s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": STANDARD})
    return bucket


def test_preflight_allowed(raw, cors_bucket):
    r = preflight(raw, cors_bucket, "some/key", origin="http://app.example", method="PUT",
                  headers="Content-Type, X-Amz-Meta-Color,x-amz-date")
    assert r.status == 200, r
    assert r.body == b""
    assert cors_headers(r) == {
        "access-control-allow-origin": "http://app.example",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": "content-type, x-amz-meta-color, x-amz-date",
        "access-control-expose-headers": "ETag, x-amz-meta-a",
        "access-control-max-age": "600",
        "vary": VARY,
    }


def test_preflight_any_origin_rule(raw, cors_bucket):
    # The second rule: "*" is answered "*", without credentials; no headers were asked for.
    r = preflight(raw, cors_bucket, "k", origin="http://elsewhere.example", method="HEAD")
    assert r.status == 200, r
    assert cors_headers(r) == {"access-control-allow-origin": "*",
                               "access-control-allow-methods": "HEAD", "vary": VARY}


def test_preflight_on_bucket_and_subresources(raw, cors_bucket):
    for key, query in [(None, ()), ("k", [("uploads", "")]),
                       ("k", [("partNumber", "1"), ("uploadId", "abc")]),
                       (None, [("cors", "")]), ("k", [("tagging", "")])]:
        r = preflight(raw, cors_bucket, key, origin="http://app.example", method="GET",
                      query=query)
        assert r.status == 200, (key, query, r)
        assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"


@pytest.mark.parametrize("origin,method,headers", [
    ("http://other.example", "GET", None),          # origin
    ("http://app.example", "DELETE", None),         # method
    ("http://app.example", "PATCH", None),
    ("http://app.example", "GET", "authorization"),  # a header no pattern allows
    ("http://app.example", "GET", "content-type, x-custom"),
    ("http://APP.example", "GET", None),            # origins compare exactly
    ("http://app.example/", "GET", None),
    ("http://elsewhere.example", "HEAD", "x-amz-date"),  # the "*" rule allows no header
])
def test_preflight_refused(raw, cors_bucket, origin, method, headers):
    r = preflight(raw, cors_bucket, "k", origin=origin, method=method, headers=headers)
    assert (r.status, r.code) == (403, "AccessForbidden"), r
    assert r.error["Message"] == DENIED
    assert not any(h.startswith("access-control") for h in cors_headers(r))


def test_preflight_without_configuration(raw, bucket, bucket_name):
    r = preflight(raw, bucket, "k", origin="http://app.example", method="GET")
    assert (r.status, r.code) == (403, "AccessForbidden"), r
    assert r.error["Message"] == "CORSResponse: CORS is not enabled for this bucket."
    r = preflight(raw, bucket_name, "k", origin="http://app.example", method="GET")
    assert (r.status, r.code) == (403, "AccessForbidden"), r
    assert r.error["Message"] == "CORSResponse: Bucket not found"


def test_preflight_missing_headers(raw, cors_bucket, server):
    r = preflight(raw, cors_bucket, "k", method="GET")
    assert (r.status, r.code) == (400, "BadRequest"), r
    assert r.error["Message"] == "Insufficient information. Origin request header needed."
    r = preflight(raw, cors_bucket, "k", origin="http://app.example")
    assert (r.status, r.code) == (400, "BadRequest"), r
    # A presigned URL is preflighted as is: no signature is checked.
    q = presign_query("GET", obj_path(cors_bucket, "k"), [], "127.0.0.1:%d" % server.port,
                      server.access_key, server.secret)
    r = raw.unsigned("OPTIONS", obj_path(cors_bucket, "k"), query=q)
    assert (r.status, r.code) == (400, "BadRequest"), r


@pytest.mark.parametrize("origin,allowed", [
    ("foo.suffix", True), ("startend", True), ("start1end", True), ("start12end", True),
    ("prefix", True), ("prefix.suffix", True), ("http://a.b.sub.example", True),
    ("foo.bar", False), ("foo.suffix.get", False), ("0start12end", False),
    ("bla.prefix", False), ("http://sub.example", False),
])
def test_origin_wildcards(s3, raw, bucket, origin, allowed):
    rules = [{"AllowedOrigins": [o], "AllowedMethods": ["GET"]}
             for o in ("*suffix", "start*end", "prefix*", "http://*.sub.example")]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    r = preflight(raw, bucket, origin=origin, method="GET")
    assert r.status == (200 if allowed else 403), r
    if allowed:
        assert r.headers["Access-Control-Allow-Origin"] == origin


def test_header_wildcards(s3, raw, bucket):
    rules = [{"AllowedOrigins": ["http://h.example"], "AllowedMethods": ["PUT"],
              "AllowedHeaders": ["X-AMZ-*", "content-*", "exact"]}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    ok = preflight(raw, bucket, "k", origin="http://h.example", method="PUT",
                   headers="x-amz-content-sha256, Content-MD5, EXACT, x-amz-")
    assert ok.status == 200, ok
    assert ok.headers["Access-Control-Allow-Headers"] == \
        "x-amz-content-sha256, content-md5, exact, x-amz-"
    bad = preflight(raw, bucket, "k", origin="http://h.example", method="PUT",
                    headers="exactly")
    assert bad.status == 403, bad


def test_first_matching_rule_wins(s3, raw, bucket):
    rules = [{"AllowedOrigins": ["http://f.example"], "AllowedMethods": ["GET"],
              "MaxAgeSeconds": 1},
             {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 2}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    r = preflight(raw, bucket, "k", origin="http://f.example", method="GET")
    assert r.headers["Access-Control-Max-Age"] == "1"
    assert r.headers["Access-Control-Allow-Origin"] == "http://f.example"
    r = preflight(raw, bucket, "k", origin="http://f.example", method="PUT")
    assert r.headers["Access-Control-Max-Age"] == "2"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers


# ---------------------------------------------------------------- actual requests

def test_actual_request_headers(s3, raw, cors_bucket):
    s3.put_object(Bucket=cors_bucket, Key="k", Body=b"hello")
    r = raw.request("GET", obj_path(cors_bucket, "k"), headers={"Origin": "http://app.example"})
    assert r.status == 200 and r.body == b"hello"
    assert cors_headers(r) == {
        "access-control-allow-origin": "http://app.example",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-expose-headers": "ETag, x-amz-meta-a",
        "access-control-max-age": "600",
        "vary": VARY,
    }
    # HEAD is allowed by the "*" rule only.
    r = raw.request("HEAD", obj_path(cors_bucket, "k"), headers={"Origin": "http://x.example"})
    assert r.status == 200
    assert cors_headers(r) == {"access-control-allow-origin": "*",
                               "access-control-allow-methods": "HEAD", "vary": VARY}
    # PUT from the app origin: its rule allows PUT.
    r = raw.request("PUT", obj_path(cors_bucket, "k2"), headers={"Origin": "http://app.example"},
                    body=b"x")
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"


def test_actual_request_without_match_or_origin(s3, raw, cors_bucket):
    s3.put_object(Bucket=cors_bucket, Key="k", Body=b"hello")
    for h in ({}, {"Origin": "http://other.example"}):
        r = raw.request("GET", obj_path(cors_bucket, "k"), headers=h)
        assert r.status == 200
        assert cors_headers(r) == {}, (h, r)
    # A method no rule of this origin allows is served, without CORS headers.
    r = raw.request("DELETE", obj_path(cors_bucket, "k"), headers={"Origin": "http://app.example"})
    assert r.status == 204
    assert cors_headers(r) == {}
    # The request-method header, when sent, decides the match, as in S3.
    s3.put_object(Bucket=cors_bucket, Key="k", Body=b"hello")
    r = raw.request("GET", obj_path(cors_bucket, "k"),
                    headers={"Origin": "http://app.example",
                             "Access-Control-Request-Method": "DELETE"})
    assert r.status == 200 and cors_headers(r) == {}


def test_error_responses_carry_the_headers(raw, cors_bucket):
    origin = {"Origin": "http://app.example"}
    # A missing key, signed.
    r = raw.request("GET", obj_path(cors_bucket, "missing"), headers=origin)
    assert (r.status, r.code) == (404, "NoSuchKey")
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"
    # Anonymous: refused, and the browser may still read why.
    r = raw.unsigned("GET", obj_path(cors_bucket, "missing"), headers=origin)
    assert (r.status, r.code) == (403, "AccessDenied")
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert r.headers["Vary"] == VARY
    # A bad signature.
    h, _ = raw.prepare("GET", obj_path(cors_bucket, "k"), headers=origin)
    h["authorization"] = h["authorization"][:-4] + "0000"
    r = raw.send("GET", obj_path(cors_bucket, "k"), headers=h)
    assert (r.status, r.code) == (403, "SignatureDoesNotMatch")
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"


def test_presigned_get_from_a_browser_origin(s3, server, cors_bucket):
    import requests
    s3.put_object(Bucket=cors_bucket, Key="p", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "p"})
    r = requests.get(url, headers={"Origin": "http://app.example"}, timeout=30)
    assert r.status_code == 200 and r.content == b"presigned"
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-meta-a"


def test_rules_apply_at_once_and_go_with_delete(s3, raw, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    origin = {"Origin": "http://app.example"}
    assert "Access-Control-Allow-Origin" not in raw.request(
        "GET", obj_path(bucket, "k"), headers=origin).headers
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": STANDARD})
    assert raw.request("GET", obj_path(bucket, "k"), headers=origin).headers[
        "Access-Control-Allow-Origin"] == "http://app.example"
    assert preflight(raw, bucket, "k", origin="http://app.example", method="GET").status == 200
    s3.delete_bucket_cors(Bucket=bucket)
    assert "Access-Control-Allow-Origin" not in raw.request(
        "GET", obj_path(bucket, "k"), headers=origin).headers
    assert preflight(raw, bucket, "k", origin="http://app.example", method="GET").status == 403


def test_listing_with_origin(s3, raw, cors_bucket):
    r = raw.request("GET", obj_path(cors_bucket), query=[("list-type", "2")],
                    headers={"Origin": "http://app.example"})
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example"


# ---------------------------------------------------------------- permissions

def test_cors_actions_in_policies(admin_server, root_api, make_bucket):
    b = make_bucket()
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetBucketCORS"], "Resource": "arn:aws:s3:::" + b}]}
    c = root_api.create_cred("cors-reader", policy=policy)
    try:
        root = admin_server.client()
        root.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": STANDARD})
        s3 = c.s3()
        assert s3.get_bucket_cors(Bucket=b)["CORSRules"] == STANDARD
        assert s3_outcome(s3.put_bucket_cors, Bucket=b,
                          CORSConfiguration={"CORSRules": STANDARD}) == (403, "AccessDenied")
        # Deleting needs s3:PutBucketCORS, as in S3.
        assert s3_outcome(s3.delete_bucket_cors, Bucket=b) == (403, "AccessDenied")
        writer = root_api.create_cred("cors-writer", policy={
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutBucketCORS"],
                 "Resource": "arn:aws:s3:::" + b}]})
        try:
            w = writer.s3()
            assert s3_outcome(w.get_bucket_cors, Bucket=b) == (403, "AccessDenied")
            assert s3_outcome(w.delete_bucket_cors, Bucket=b) == (204, None)
        finally:
            root_api.delete("/v1/credentials/" + writer.id)
    finally:
        root_api.delete("/v1/credentials/" + c.id)
