"""Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration through boto3 and hand-signed
requests (S3's document, normalization, IDs, and its errors), and the sweeper: a server
restarted with its clock shifted (--debug-clock-offset-ms) and a short --lifecycle-interval
expires objects by prefix, tags, size, Days (counted from the mtime rounded up to the next
midnight UTC) and Date, leaves Disabled rules and other buckets alone, and aborts stale
multipart uploads. Nothing is timed: the tests wait, boundedly, for the sweep's log line."""
import datetime
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

pytest.register_assert_rewrite("admin_fixtures")
pytest_plugins = ["admin_fixtures"]

from admin_fixtures import s3_outcome  # noqa: E402
from s3util import amz_now, md5_b64, obj_path, parse_xml  # noqa: E402

DAY_S = 86400
SWEEP_RX = (r"lifecycle: swept (\d+) buckets \((\d+) with rules\): (\d+) objects expired, "
            r"(\d+) uploads aborted, (\d+) failures")
SWEEP_WAIT_S = 120


def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"],
                e.response["Error"].get("Message"))
    return (200, None, None)


def put_raw(raw, bucket, body, md5=True):
    if isinstance(body, str):
        body = body.encode()
    return raw.request("PUT", obj_path(bucket), query=[("lifecycle", "")], body=body,
                       headers={"content-md5": md5_b64(body)} if md5 else {})


def config(*rules):
    return ('<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s'
            "</LifecycleConfiguration>" % "".join("<Rule>%s</Rule>" % r for r in rules))


EXP1 = "<Expiration><Days>1</Days></Expiration>"
ON = "<Status>Enabled</Status>"


def rule(filt="<Filter><Prefix>p/</Prefix></Filter>", action=EXP1, status=ON, rid=""):
    return (("<ID>%s</ID>" % rid) if rid else "") + filt + status + action


# ---------------------------------------------------------------- configuration

def test_get_without_configuration(s3, bucket):
    assert error_of(s3.get_bucket_lifecycle_configuration, Bucket=bucket) == \
        (404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")


def test_roundtrip(s3, bucket):
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
         "Expiration": {"Days": 30}},
        {"ID": "tagged", "Filter": {"Tag": {"Key": "tier", "Value": "tmp"}},
         "Status": "Disabled", "Expiration": {"Days": 7}},
        {"ID": "and", "Filter": {"And": {"Prefix": "a/", "Tags": [
            {"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}],
            "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
         "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "uploads", "Filter": {}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
        {"ID": "size", "Filter": {"ObjectSizeLessThan": 5}, "Status": "Enabled",
         "Expiration": {"Days": 2}, "NoncurrentVersionExpiration": {"NoncurrentDays": 4}},
        {"ID": "markers", "Filter": {"Prefix": ""}, "Status": "Enabled",
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
    ]
    r = s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                              LifecycleConfiguration={"Rules": rules})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["Rules"] == rules
    assert got["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-transition-default-minimum-object-size"] == "all_storage_classes_128K"
    r = s3.delete_bucket_lifecycle(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(s3.get_bucket_lifecycle_configuration, Bucket=bucket)[:2] == \
        (404, "NoSuchLifecycleConfiguration")
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_ids_and_dates_are_filled_in(s3, raw, bucket):
    body = config(rule(filt="<Filter><Prefix>a/</Prefix></Filter>",
                       action="<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>"),
                  rule(filt="<Filter><Prefix>b/</Prefix></Filter>",
                       action="<Expiration><Date>2031-02-03</Date></Expiration>", rid=""),
                  rule(filt="<Filter><Prefix>c/</Prefix></Filter>", rid="given",
                       action="<Expiration><Date>2032-03-04T00:00:00.000+00:00</Date>"
                              "</Expiration>"))
    r = put_raw(raw, bucket, body)
    assert r.status == 200, r
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    ids = [x["ID"] for x in rules]
    # S3's own IDs: base64 of a UUID, 48 characters.
    assert len(ids[0]) == 48 and len(ids[1]) == 48 and ids[0] != ids[1] and ids[2] == "given"
    dates = [x["Expiration"]["Date"] for x in rules]
    assert [d.strftime("%Y-%m-%d %H:%M:%S %Z") for d in dates] == \
        ["2030-01-01 00:00:00 UTC", "2031-02-03 00:00:00 UTC", "2032-03-04 00:00:00 UTC"]
    r = raw.request("GET", obj_path(bucket), query=[("lifecycle", "")])
    assert b"<Date>2030-01-01T00:00:00.000Z</Date>" in r.body
    # The same configuration again keeps the IDs S3 gave it.
    r = put_raw(raw, bucket, r.body)
    assert r.status == 200, r
    assert [x["ID"] for x in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == ids


def test_legacy_prefix_rules(s3, raw, bucket):
    body = config("<ID>one</ID><Prefix>logs/</Prefix>" + ON + EXP1,
                  "<ID>two</ID><Prefix>tmp/</Prefix><Status>Disabled</Status>"
                  "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2"
                  "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")
    r = put_raw(raw, bucket, body)
    assert r.status == 200, r
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [(x["ID"], x.get("Prefix"), "Filter" in x) for x in rules] == \
        [("one", "logs/", False), ("two", "tmp/", False)]


P = "<Filter><Prefix>p/</Prefix></Filter>"


@pytest.mark.parametrize("body,status,code,message", [
    ("<LifecycleConfiguration/>", 400, "MalformedXML", None),
    ("<Lifecycle><Rule>" + rule() + "</Rule></Lifecycle>", 400, "MalformedXML", None),
    (config(P + EXP1), 400, "MalformedXML", None),                     # no Status
    (config(rule(status="<Status>enabled</Status>")), 400, "MalformedXML", None),
    (config(ON + EXP1), 400, "MalformedXML", None),                    # no Filter nor Prefix
    (config("<Prefix>p/</Prefix>" + rule()), 400, "MalformedXML", None),
    (config(rule(filt="<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                      "</Filter>")), 400, "MalformedXML", None),
    (config(rule(filt="<Filter><And><Prefix>a</Prefix></And></Filter>")), 400, "MalformedXML",
     None),
    (config(rule() + "<Bogus/>"), 400, "MalformedXML", None),
    (config(rule(action="<Expiration><Days>0</Days></Expiration>")), 400, "InvalidArgument",
     "'Days' for Expiration action must be a positive integer"),
    (config(rule(action="<Expiration><Days>-3</Days></Expiration>")), 400, "InvalidArgument",
     "'Days' for Expiration action must be a positive integer"),
    (config(rule(action="<Expiration><Days>x</Days></Expiration>")), 400, "MalformedXML", None),
    (config(rule(action="<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")), 400,
     "InvalidArgument", "'Date' must be at midnight GMT"),
    (config(rule(action="<Expiration><Date>Fri, 01 Jan 2016 00:00:00 GMT</Date></Expiration>")),
     400, "MalformedXML", None),
    (config(rule(action="<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date>"
                        "</Expiration>")), 400, "MalformedXML", None),
    (config(rule(action="<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                        "</ExpiredObjectDeleteMarker></Expiration>")), 400, "MalformedXML", None),
    (config(rule(action="<Expiration/>")), 400, "MalformedXML", None),
    (config(rule(action="")), 400, "InvalidRequest",
     "At least one action needs to be specified in a rule"),
    (config(rule(filt="<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",
                 action="<AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                        "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")),
     400, "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."),
    (config(rule(filt="<Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter>",
                 action="<AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                        "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")),
     400, "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Object Size."),
    (config(rule(action="<AbortIncompleteMultipartUpload><DaysAfterInitiation>0"
                        "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")),
     400, "InvalidArgument",
     "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive "
     "integer"),
    (config(rule(filt="<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key>"
                      "<Value>2</Value></Tag></And></Filter>")),
     400, "InvalidRequest", "Duplicate Tag Keys are not allowed."),
    (config(rule(filt="<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>")),
     400, "InvalidRequest", None),
    (config(rule(filt="<Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan>"
                      "<ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>")),
     400, "InvalidRequest", None),
    (config(rule(rid="i" * 256)), 400, "InvalidArgument",
     "ID length should not exceed allowed limit of 255"),
    (config(rule(rid="same"), rule(rid="same", filt="<Filter><Prefix>q/</Prefix></Filter>")),
     400, "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule"),
    (config("<Prefix>a/</Prefix>" + ON + EXP1, rule()), 400, "InvalidRequest",
     "Filter element can only be used in Lifecycle V2."),
    (config(rule(), "<Prefix>a/</Prefix>" + ON + EXP1), 400, "InvalidRequest",
     "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the "
     "Filter."),
    (config("<Prefix>a</Prefix>" + ON + EXP1, "<Prefix>ab</Prefix>" + ON + EXP1), 400,
     "InvalidRequest", "Found overlapping prefixes 'a' and 'ab' for same action type "
     "'Expiration'"),
    (config(*[rule(filt="<Filter><Prefix>p%d/</Prefix></Filter>" % i) for i in range(1001)]),
     400, "InvalidRequest",
     "The number of lifecycle rules must not exceed the allowed limit of 1000 rules."),
    (config(rule(action="<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass>"
                        "</Transition>")), 501, "NotImplemented", None),
    (config(rule(action="<NoncurrentVersionExpiration/>")), 400, "MalformedXML", None),
    (config("<Prefix>p/</Prefix>" + ON + "<NoncurrentVersionExpiration><NoncurrentDays>1"
            "</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>"
            "</NoncurrentVersionExpiration>"), 400, "InvalidRequest",
     "NewerNoncurrentVersions element can only be used in Lifecycle V2."),
    ("<LifecycleConfiguration><Rule>", 400, "MalformedXML", None),
])
def test_put_refused(s3, raw, bucket, body, status, code, message):
    r = put_raw(raw, bucket, body)
    assert (r.status, r.code) == (status, code), r
    if message is not None:
        assert r.error["Message"] == message
    assert error_of(s3.get_bucket_lifecycle_configuration, Bucket=bucket)[:2] == \
        (404, "NoSuchLifecycleConfiguration")


def test_thousand_rules_accepted(s3, raw, bucket):
    body = config(*[rule(filt="<Filter><Prefix>p%04d/</Prefix></Filter>" % i)
                    for i in range(1000)])
    assert put_raw(raw, bucket, body).status == 200
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1000


def test_put_needs_integrity_header_and_bucket(raw, s3, bucket, bucket_name):
    r = put_raw(raw, bucket, config(rule()), md5=False)
    assert (r.status, r.code) == (400, "InvalidRequest"), r
    rules = {"Rules": [{"Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}]}
    assert error_of(s3.put_bucket_lifecycle_configuration, Bucket=bucket_name,
                    LifecycleConfiguration=rules)[:2] == (404, "NoSuchBucket")
    assert error_of(s3.get_bucket_lifecycle_configuration, Bucket=bucket_name)[:2] == \
        (404, "NoSuchBucket")
    assert error_of(s3.delete_bucket_lifecycle, Bucket=bucket_name)[:2] == (404, "NoSuchBucket")


def test_lifecycle_actions_in_policies(admin_server, root_api, make_bucket):
    b = make_bucket()
    rules = {"Rules": [{"ID": "r", "Filter": {}, "Status": "Enabled",
                        "Expiration": {"Days": 9}}]}
    c = root_api.create_cred("lc-reader", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetLifecycleConfiguration",
         "Resource": "arn:aws:s3:::" + b}]})
    w = root_api.create_cred("lc-writer", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutLifecycleConfiguration",
         "Resource": "arn:aws:s3:::" + b}]})
    try:
        reader, writer = c.s3(), w.s3()
        assert s3_outcome(reader.put_bucket_lifecycle_configuration, Bucket=b,
                          LifecycleConfiguration=rules) == (403, "AccessDenied")
        assert s3_outcome(writer.put_bucket_lifecycle_configuration, Bucket=b,
                          LifecycleConfiguration=rules) == (200, None)
        assert reader.get_bucket_lifecycle_configuration(Bucket=b)["Rules"] == rules["Rules"]
        assert s3_outcome(writer.get_bucket_lifecycle_configuration, Bucket=b) == \
            (403, "AccessDenied")
        # DeleteBucketLifecycle is s3:PutLifecycleConfiguration, as in S3.
        assert s3_outcome(reader.delete_bucket_lifecycle, Bucket=b) == (403, "AccessDenied")
        assert s3_outcome(writer.delete_bucket_lifecycle, Bucket=b) == (204, None)
    finally:
        root_api.delete("/v1/credentials/" + c.id)
        root_api.delete("/v1/credentials/" + w.id)


# ---------------------------------------------------------------- the sweeper

def next_midnight_after(t):
    """S3's due time: t rounded up to the next midnight UTC (t itself when at midnight)."""
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == t else day + datetime.timedelta(days=1)


def listed_keys(srv, bucket, offset_s):
    """Keys of a bucket, asked with a signature dated by the server's shifted clock."""
    r = srv.raw().request("GET", obj_path(bucket), query=[("list-type", "2"),
                                                          ("max-keys", "1000")],
                          amz_date=amz_now(offset_s))
    assert r.status == 200, r
    keys = [c.find("Key").text for c in parse_xml(r.body).iter("Contents")]
    return keys, parse_xml(r.body).find("IsTruncated").text == "true"


def restart_with_offset(srv, base_args, offset_s):
    srv.stop()
    srv.args = list(base_args) + (["--debug-clock-offset-ms", str(int(offset_s * 1000))]
                                  if offset_s else [])
    srv.start()
    return srv.log_mark()


def wait_sweep(srv, mark):
    """The counts of the first sweep logged after mark."""
    line = srv.wait_log(SWEEP_RX, timeout=SWEEP_WAIT_S, mark=mark)
    assert line is not None, "no lifecycle sweep was logged:\n" + srv.stderr()[-3000:]
    return [int(x) for x in re.search(SWEEP_RX, line).groups()]


def expire_rule(rid, filt, days=1, status="Enabled"):
    return {"ID": rid, "Filter": filt, "Status": status, "Expiration": {"Days": days}}


@pytest.mark.slow
def test_sweeper_applies_the_rules(start_server):
    base = ["--lifecycle-interval", "1"]
    srv = start_server(args=base)
    s3 = srv.client()
    b, other = "lifecycle-sweep", "lifecycle-untouched"
    s3.create_bucket(Bucket=b)
    s3.create_bucket(Bucket=other)
    small, big = b"s" * 10, b"B" * 2000
    objects = {
        "days/a": b"1", "days/b": b"2",              # Days 1 by prefix
        "keep/x": b"k",                              # no rule
        "tagged/yes": (b"t", "expire=yes&o=1"),      # And(prefix, tag)
        "tagged/no": (b"t", "expire=no"),
        "anywhere/solo": (b"s", "solo=1"),           # a Tag filter alone
        "size/small": small, "size/big": big,        # And(prefix, size > 1000)
        "disabled/x": b"d",                          # a Disabled rule
        "later/x": b"l",                             # Days 30
        "dated/x": b"d",                             # a Date
    }
    for k, v in objects.items():
        if isinstance(v, tuple):
            s3.put_object(Bucket=b, Key=k, Body=v[0], Tagging=v[1])
        else:
            s3.put_object(Bucket=b, Key=k, Body=v)
    bulk = ["bulk/%05d" % i for i in range(1500)]    # more than one listing page
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: s3.put_object(Bucket=b, Key=k, Body=b"x"), bulk))
    s3.put_object(Bucket=other, Key="days/a", Body=b"other")
    stale = s3.create_multipart_upload(Bucket=b, Key="mpu/stale")["UploadId"]
    s3.upload_part(Bucket=b, Key="mpu/stale", UploadId=stale, PartNumber=1, Body=b"part")
    kept_upload = s3.create_multipart_upload(Bucket=b, Key="elsewhere/upload")["UploadId"]

    mtimes = [o["LastModified"] for o in
              s3.get_paginator("list_objects_v2").paginate(Bucket=b).search("Contents")]
    t_min, t_max = min(mtimes), max(mtimes)
    now = datetime.datetime.now(datetime.timezone.utc)
    date = (t_max + datetime.timedelta(days=4)).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
    rules = [
        expire_rule("days", {"Prefix": "days/"}),
        expire_rule("bulk", {"Prefix": "bulk/"}),
        expire_rule("tagged", {"And": {"Prefix": "tagged/",
                                       "Tags": [{"Key": "expire", "Value": "yes"}]}}),
        expire_rule("solo", {"Tag": {"Key": "solo", "Value": "1"}}),
        expire_rule("size", {"And": {"Prefix": "size/", "ObjectSizeGreaterThan": 1000}}),
        expire_rule("disabled", {"Prefix": "disabled/"}, status="Disabled"),
        expire_rule("later", {"Prefix": "later/"}, days=30),
        {"ID": "dated", "Filter": {"Prefix": "dated/"}, "Status": "Enabled",
         "Expiration": {"Date": date}},
        {"ID": "uploads", "Filter": {"Prefix": "mpu/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
    # Sweeps at the real time find nothing due.
    swept = wait_sweep(srv, srv.log_mark())
    assert swept[:5] == [2, 1, 0, 0, 0]

    everything = sorted(list(objects) + bulk)
    # Ten minutes before the earliest due time (a day after the mtime, rounded up to the
    # next midnight): nothing is due yet, although a day has passed since the upload.
    due_min = next_midnight_after(t_min + datetime.timedelta(days=1))
    offset = (due_min - now).total_seconds() - 600
    assert offset > DAY_S - 600
    mark = restart_with_offset(srv, base, offset)
    assert wait_sweep(srv, mark)[2:5] == [0, 0, 0]
    keys, truncated = listed_keys(srv, b, offset)
    assert truncated and keys == everything[:1000]

    # Ten minutes past the latest: the one-day rules and the upload rule have acted.
    due_max = next_midnight_after(t_max + datetime.timedelta(days=1))
    offset = (due_max - now).total_seconds() + 600
    mark = restart_with_offset(srv, base, offset)
    gone = {"days/a", "days/b", "tagged/yes", "anywhere/solo", "size/big"}
    assert wait_sweep(srv, mark)[2:5] == [len(gone) + len(bulk), 1, 0]
    keys, truncated = listed_keys(srv, b, offset)
    assert not truncated
    assert keys == sorted(set(objects) - gone)
    assert listed_keys(srv, other, offset)[0] == ["days/a"]

    # Past the date.
    offset = (date - now).total_seconds() + 600
    mark = restart_with_offset(srv, base, offset)
    assert wait_sweep(srv, mark)[2:5] == [1, 0, 0]

    # Back at the real time, with a client that signs as usual.
    restart_with_offset(srv, base, 0)
    s3 = srv.client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
    assert keys == ["disabled/x", "keep/x", "later/x", "size/small", "tagged/no"]
    uploads = s3.list_multipart_uploads(Bucket=b).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("elsewhere/upload", kept_upload)]
    assert error_of(s3.list_parts, Bucket=b, Key="mpu/stale", UploadId=stale)[:2] == \
        (404, "NoSuchUpload")
    assert s3.get_object(Bucket=other, Key="days/a")["Body"].read() == b"other"
    s3.abort_multipart_upload(Bucket=b, Key="elsewhere/upload", UploadId=kept_upload)


def test_sweeper_skips_rewritten_objects(start_server):
    """An object written after the clock moved is new: a later sweep leaves it."""
    base = ["--lifecycle-interval", "1"]
    srv = start_server(args=base)
    s3 = srv.client()
    b = "lifecycle-rewrite"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="p/old", Body=b"old")
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        expire_rule("p", {"Prefix": "p/"}, days=2)]})
    offset = 5 * DAY_S
    mark = restart_with_offset(srv, base, offset)
    assert wait_sweep(srv, mark)[2] == 1
    # Written now, at the shifted time: two days from now it is due, not before.
    raw = srv.raw()
    r = raw.request("PUT", obj_path(b, "p/new"), body=b"new", amz_date=amz_now(offset))
    assert r.status == 200, r
    mark = srv.log_mark()
    assert wait_sweep(srv, mark)[2] == 0
    assert listed_keys(srv, b, offset)[0] == ["p/new"]


def test_interval_flag_is_validated(cofferd_bin, workdir):
    for bad in ("0", "-1", "604801", "soon"):
        p = subprocess.run([cofferd_bin, "--lifecycle-interval", bad, "--data", workdir],
                           capture_output=True, timeout=30)
        assert p.returncode == 2, p
        assert b"lifecycle-interval" in p.stderr
    p = subprocess.run([cofferd_bin, "--help"], capture_output=True, timeout=30)
    assert p.returncode == 0 and b"--lifecycle-interval SECONDS" in p.stdout
    assert b"COFFER_LIFECYCLE_INTERVAL, default 3600" in p.stdout
