"""Virtual-hosted-style addressing: with --domain s3.localhost, Host: bucket.s3.localhost
addresses the bucket; path style keeps working. No DNS: *.s3.localhost is resolved to
127.0.0.1 inside this process."""
import socket

import pytest
import requests

from s3util import RawClient, obj_path, parse_xml, uri_encode

DOMAIN = "s3.localhost"


@pytest.fixture
def resolve_localhost(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kw):
        if isinstance(host, bytes):
            host = host.decode()
        if host == DOMAIN or (isinstance(host, str) and host.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.fixture
def vsrv(start_server):
    return start_server(args=["--domain", DOMAIN])


def test_boto3_virtual_hosted(vsrv, resolve_localhost):
    endpoint = "http://%s:%d" % (DOMAIN, vsrv.port)
    c = vsrv.client(addressing="virtual", endpoint=endpoint)
    seen = []
    c.meta.events.register("before-send.s3", lambda request, **kw: seen.append(request.url))
    c.create_bucket(Bucket="vhost-bucket")
    c.put_object(Bucket="vhost-bucket", Key="dir/ü k+y", Body=b"virtual", Metadata={"a": "b"})
    g = c.get_object(Bucket="vhost-bucket", Key="dir/ü k+y")
    assert g["Body"].read() == b"virtual"
    assert g["Metadata"] == {"a": "b"}
    lst = c.list_objects_v2(Bucket="vhost-bucket", Delimiter="/")
    assert [p["Prefix"] for p in lst["CommonPrefixes"]] == ["dir/"]
    assert c.head_bucket(Bucket="vhost-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "vhost-bucket" in [b["Name"] for b in c.list_buckets()["Buckets"]]
    c.copy_object(Bucket="vhost-bucket", Key="copy",
                  CopySource={"Bucket": "vhost-bucket", "Key": "dir/ü k+y"})
    assert c.get_object(Bucket="vhost-bucket", Key="copy")["Body"].read() == b"virtual"
    url = c.generate_presigned_url("get_object", Params={"Bucket": "vhost-bucket",
                                                         "Key": "copy"})
    assert url.startswith("http://vhost-bucket.%s:%d/" % (DOMAIN, vsrv.port))
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and r.content == b"virtual"
    for key in ("copy", "dir/ü k+y"):
        c.delete_object(Bucket="vhost-bucket", Key=key)
    c.delete_bucket(Bucket="vhost-bucket")
    # the requests really went to bucket.s3.localhost
    assert any(u.startswith("http://vhost-bucket.%s:%d/" % (DOMAIN, vsrv.port)) for u in seen)
    # path style still works on the same server
    p = vsrv.client()
    p.create_bucket(Bucket="pathstyle")
    p.put_object(Bucket="pathstyle", Key="k", Body=b"p")
    assert p.get_object(Bucket="pathstyle", Key="k")["Body"].read() == b"p"


@pytest.mark.parametrize("with_port", [True, False])
def test_raw_host_header(vsrv, with_port):
    vsrv.client().create_bucket(Bucket="rawhost")
    host = "rawhost.%s" % DOMAIN + (":%d" % vsrv.port if with_port else "")
    raw = RawClient(vsrv.port, vsrv.access_key, vsrv.secret, host=host)
    r = raw.request("PUT", "/" + uri_encode("a b/c", keep_slash=True), body=b"hosted")
    assert r.status == 200, r
    g = vsrv.raw().request("GET", obj_path("rawhost", "a b/c"))
    assert g.status == 200 and g.body == b"hosted"
    r = raw.request("GET", "/", query=[("list-type", "2")])
    assert r.status == 200, r
    root = parse_xml(r.body)
    assert root.findtext("Name") == "rawhost"
    assert [c.findtext("Key") for c in root.findall("Contents")] == ["a b/c"]


def test_host_header_is_case_insensitive(vsrv):
    # Host names are case-insensitive: RAWHOST.S3.LOCALHOST is bucket rawhost.
    vsrv.client().create_bucket(Bucket="rawhost")
    vsrv.client().put_object(Bucket="rawhost", Key="a b/c", Body=b"hosted")
    host = ("rawhost.%s:%d" % (DOMAIN, vsrv.port)).upper()
    upper = RawClient(vsrv.port, vsrv.access_key, vsrv.secret, host=host)
    r = upper.request("GET", "/a%20b/c")
    assert r.status == 200 and r.body == b"hosted", r


def test_vhost_missing_bucket(vsrv):
    raw = RawClient(vsrv.port, vsrv.access_key, vsrv.secret,
                    host="nosuchbucket.%s:%d" % (DOMAIN, vsrv.port))
    r = raw.request("GET", "/k")
    assert r.status == 404 and r.code == "NoSuchBucket", r


def test_vhost_service_endpoint_lists_buckets(vsrv):
    vsrv.client().create_bucket(Bucket="listed")
    raw = RawClient(vsrv.port, vsrv.access_key, vsrv.secret, host="%s:%d" % (DOMAIN, vsrv.port))
    r = raw.request("GET", "/")
    assert r.status == 200, r
    assert "listed" in [b.findtext("Name") for b in parse_xml(r.body).findall("Buckets/Bucket")]


def test_no_domain_means_path_style(server, raw, bucket):
    # Without --domain a Host like bucket.s3.localhost is not a bucket address.
    other = RawClient(raw.port, raw.access_key, raw.secret, host="%s.%s" % (bucket, DOMAIN))
    r = other.request("GET", "/" + bucket, query=[("list-type", "2")])
    assert r.status == 200, r
    assert parse_xml(r.body).findtext("Name") == bucket
