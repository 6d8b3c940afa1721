/* Unit tests for the coffer CLI's commands against a fake transport: which request each
 * command sends (method, URL, token, JSON body), what it prints, and how API, transport and
 * usage errors come out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/tool_api.c"
#include "cli/tool_args.c"
#include "cli/tool_audit.c"
#include "cli/tool_bucket.c"
#include "cli/tool_credential.c"
#include "cli/tool_health.c"
#include "cli/tool_output.c"
#include "cli/tool_temp.c"

/* ---------------------------------------------------------------- the fake transport */

typedef struct fake_answer {
    cf_rc rc; /* CF_OK, or a transport failure */
    long status;
    const char *body; /* NULL: none */
    bool huge;        /* a body past the 16 MiB cap */
} fake_answer;

typedef struct fake_request {
    char method[16];
    char url[1024];
    char token[256]; /* "" when no Authorization */
    bool had_token;
    char body[8192];
    bool had_body;
} fake_request;

#define FAKE_MAX 16
static fake_answer answers[FAKE_MAX];
static size_t nanswers, next_answer;
static fake_request seen[FAKE_MAX];
static size_t nseen;

static void fake_reset(void)
{
    memset(answers, 0, sizeof answers);
    memset(seen, 0, sizeof seen);
    nanswers = next_answer = nseen = 0;
}

static void fake_push(long status, const char *body)
{
    assert_true(nanswers < FAKE_MAX);
    answers[nanswers++] = (fake_answer){CF_OK, status, body, false};
}

cf_rc cf_cli_http_do(const cf_cli_http_req *r, long *status, cf_buf *resp, char *errbuf,
                     size_t errlen)
{
    fake_request *q;
    fake_answer *a;
    if (nseen >= FAKE_MAX || next_answer >= nanswers)
        fail_msg("unexpected request %s %s", r->method, r->url);
    q = &seen[nseen++];
    snprintf(q->method, sizeof q->method, "%s", r->method);
    snprintf(q->url, sizeof q->url, "%s", r->url);
    q->had_token = r->token != NULL;
    snprintf(q->token, sizeof q->token, "%s", r->token ? r->token : "");
    q->had_body = r->body != NULL;
    if (r->body) {
        assert_true(r->body_len < sizeof q->body);
        memcpy(q->body, r->body, r->body_len);
    }
    a = &answers[next_answer++];
    if (a->rc != CF_OK) {
        snprintf(errbuf, errlen, "Couldn't connect to server");
        return a->rc;
    }
    *status = a->status;
    if (a->huge) {
        /* What tool_http's write callback does: append into the bounded buffer. */
        static char chunk[1 << 20];
        memset(chunk, 'a', sizeof chunk);
        for (int i = 0; i < 17; i++) {
            cf_rc rc = cf_buf_append(resp, chunk, sizeof chunk);
            if (rc != CF_OK)
                return rc;
        }
    }
    if (a->body)
        return cf_buf_append_c(resp, a->body);
    return CF_OK;
}

/* ---------------------------------------------------------------- running commands */

typedef struct cap {
    cf_cli c;
    char *out, *err;
    size_t outlen, errlen;
} cap;

static void cap_open(cap *k)
{
    memset(k, 0, sizeof(*k));
    k->c.url = "http://admin.test:9001";
    k->c.token = "cft_tok";
    k->c.out = open_memstream(&k->out, &k->outlen);
    k->c.err = open_memstream(&k->err, &k->errlen);
    assert_non_null(k->c.out);
    assert_non_null(k->c.err);
    fake_reset();
}

static void cap_sync(cap *k)
{
    fflush(k->c.out);
    fflush(k->c.err);
}

static void cap_close(cap *k)
{
    fclose(k->c.out);
    fclose(k->c.err);
    free(k->out);
    free(k->err);
}

/* Runs "coffer <group> <words...>" (NULL-terminated) and syncs the captured output. */
static int run(cap *k, const cf_cli_group *g, ...)
{
    char *argv[40];
    int argc = 0, rc;
    va_list ap;
    va_start(ap, g);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL && argc < 40;)
        argv[argc++] = (char *)w;
    va_end(ap);
    rc = cf_cli_group_run(&k->c, g, argc, argv);
    cap_sync(k);
    return rc;
}

static void expect_req(size_t i, const char *method, const char *url, const char *json_body)
{
    assert_true(i < nseen);
    assert_string_equal(seen[i].method, method);
    assert_string_equal(seen[i].url, url);
    if (!json_body) {
        assert_false(seen[i].had_body);
        return;
    }
    assert_true(seen[i].had_body);
    json_error_t e;
    json_t *got = json_loads(seen[i].body, 0, &e), *want = json_loads(json_body, 0, &e);
    assert_non_null(want);
    if (!got || !json_equal(got, want))
        fail_msg("body %s\n want %s", seen[i].body, json_body);
    json_decref(got);
    json_decref(want);
}

#define CRED                                                                                       \
    "\"id\": \"CFQ2W3E4R5T6Y7U7IOPA\", \"name\": \"up\", \"parent_id\": \"CFROOT\", \"policy\": "  \
    "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": "        \
    "\"*\"}]}, \"status\": \"active\", \"created_at\": \"2025-01-02T10:00:00.000Z\", "             \
    "\"not_before\": null, \"expires_at\": null, \"allowed_ips\": [], \"last_used_at\": null"
#define SECRETS "\"secret_access_key\": \"wJalr/XUtn+FEMI=\", \"token\": \"cft_new'tok\""
#define BUCKET                                                                                     \
    "{\"name\": \"customer-42\", \"region\": \"us-east-1\", \"created_at\": "                      \
    "\"2025-01-02T10:00:00.000Z\", \"objects\": 3, \"bytes\": 2048, \"quota\": {\"max_bytes\": "   \
    "null, \"max_objects\": 10}}"

/* ---------------------------------------------------------------- health */

static void test_health(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    k.c.token = NULL; /* not needed */
    k.c.url = "http://admin.test:9001///";
    fake_push(200, "{\"status\": \"ok\"}");
    assert_int_equal(run(&k, &cf_cli_health_group, NULL), CF_CLI_EXIT_OK);
    expect_req(0, "GET", "http://admin.test:9001/v1/health", NULL);
    assert_false(seen[0].had_token);
    assert_string_equal(k.out, "ok\n");
    fake_push(200, "{\"status\": \"ok\"}");
    assert_int_equal(run(&k, &cf_cli_health_group, "--json", NULL), CF_CLI_EXIT_OK);
    assert_string_equal(k.out, "ok\n{\n  \"status\": \"ok\"\n}\n");
    assert_int_equal(k.errlen, 0);
    cap_close(&k);
}

/* ---------------------------------------------------------------- credentials */

static void test_credential_create(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(201, "{" CRED ", " SECRETS "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "create", "--name", "up loader", "--parent",
                         "CFROOT", "--permission", "object-read-write", "--bucket", "b1",
                         "--bucket", "b2", "--prefix", "in/", "--ttl", "1h30m", "--not-before",
                         "2025-01-01T01:00:00+01:00", "--allow-ip", "10.0.0.0/8", "--allow-ip",
                         "2001:db8::/32", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/credentials",
               "{\"name\": \"up loader\", \"parent_id\": \"CFROOT\", \"permission\": "
               "\"object-read-write\", \"buckets\": [\"b1\", \"b2\"], \"prefixes\": [\"in/\"], "
               "\"ttl_seconds\": 5400, \"not_before\": \"2025-01-01T00:00:00Z\", "
               "\"allowed_ips\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}");
    assert_true(seen[0].had_token);
    assert_string_equal(seen[0].token, "cft_tok");
    assert_non_null(strstr(k.out, "id                 CFQ2W3E4R5T6Y7U7IOPA\n"));
    assert_non_null(strstr(k.out, "expires_at         never\n"));
    assert_non_null(strstr(k.out, "allowed_ips        any\n"));
    assert_non_null(strstr(k.out, "secret_access_key  wJalr/XUtn+FEMI=\n"));
    assert_non_null(strstr(k.out, "token              cft_new'tok\npolicy:\n{\n"));
    assert_string_equal(k.err, "coffer: warning: the secret access key and token are shown only "
                               "this once; store them now\n");
    cap_close(&k);
}

static void test_credential_create_env_and_policy(void **state)
{
    cap k;
    char path[] = "/tmp/coffer-cli-policy-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("{\"Version\": \"2012-10-17\", \"Statement\": []}", f);
    fclose(f);
    cap_open(&k);
    fake_push(201, "{" CRED ", " SECRETS "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "create", "--name=ci", "--policy", path,
                         "--expires-at", "2030-01-01", "--env", NULL),
                     CF_CLI_EXIT_OK);
    unlink(path);
    expect_req(0, "POST", "http://admin.test:9001/v1/credentials",
               "{\"name\": \"ci\", \"policy\": {\"Version\": \"2012-10-17\", \"Statement\": []}, "
               "\"expires_at\": \"2030-01-01T00:00:00Z\"}");
    assert_string_equal(k.out, "AWS_ACCESS_KEY_ID=CFQ2W3E4R5T6Y7U7IOPA\n"
                               "AWS_SECRET_ACCESS_KEY=wJalr/XUtn+FEMI=\n"
                               "COFFER_TOKEN='cft_new'\"'\"'tok'\n");
    assert_non_null(strstr(k.err, "shown only this once"));
    cap_close(&k);
}

static void test_credential_create_usage(void **state)
{
    static const struct {
        const char *words[10];
        const char *err;
    } cases[] = {
        {{"create", "--permission", "object-read-only"},
         "coffer: missing: every credential has a name (--name)\n"},
        {{"create", "--name", "x"},
         "coffer: missing: give --permission or --policy (--permission)\n"},
        {{"create", "--name", "x", "--permission", "read"},
         "coffer: not one of admin-read-write, admin-read-only, object-read-write, "
         "object-read-only: read (--permission)\n"},
        {{"create", "--name", "x", "--permission", "object-read-only", "--policy", "p.json"},
         "coffer: give --permission or --policy, not both (--policy)\n"},
        {{"create", "--name", "x", "--prefix", "a/", "--policy", "p.json"},
         "coffer: needs --permission (--prefix)\n"},
        {{"create", "--name", "x", "--permission", "object-read-only", "--ttl", "1h",
          "--expires-at", "now"},
         "coffer: give --ttl or --expires-at, not both (--ttl)\n"},
        {{"create", "--name", "x", "--permission", "object-read-only", "--ttl", "0"},
         "coffer: must be from 1 to 315360000 seconds (--ttl)\n"},
        {{"create", "--name", "x", "--permission", "object-read-only", "--env", "--json"},
         "coffer: --env and --json exclude each other (--env)\n"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cap k;
        char *argv[10];
        int argc = 0;
        cap_open(&k);
        for (; argc < 10 && cases[i].words[argc]; argc++)
            argv[argc] = (char *)cases[i].words[argc];
        assert_int_equal(cf_cli_group_run(&k.c, &cf_cli_credential_group, argc, argv),
                         CF_CLI_EXIT_USAGE);
        cap_sync(&k);
        assert_string_equal(k.err, cases[i].err);
        assert_int_equal(nseen, 0); /* nothing was sent */
        cap_close(&k);
    }
}

static void test_credential_list(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(200, "{\"credentials\": [{" CRED "}], \"next_cursor\": \"CF1\"}");
    fake_push(200, "{\"credentials\": [{\"id\": \"CF2\", \"name\": \"two\", \"parent_id\": "
                   "\"CFQ2W3E4R5T6Y7U7IOPA\", \"status\": \"disabled\", \"expires_at\": "
                   "\"2025-06-30T00:00:00.000Z\", \"last_used_at\": null}], \"next_cursor\": "
                   "\"CF2\"}");
    fake_push(200, "{\"credentials\": [], \"next_cursor\": null}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "list", "--all", "--limit", "1", NULL),
                     CF_CLI_EXIT_OK);
    assert_int_equal(nseen, 3);
    expect_req(0, "GET", "http://admin.test:9001/v1/credentials?limit=1", NULL);
    expect_req(1, "GET", "http://admin.test:9001/v1/credentials?limit=1&cursor=CF1", NULL);
    expect_req(2, "GET", "http://admin.test:9001/v1/credentials?limit=1&cursor=CF2", NULL);
    assert_string_equal(
        k.out, "ID                    NAME  PARENT                STATUS    EXPIRES_AT      "
               "          LAST_USED_AT\n"
               "CFQ2W3E4R5T6Y7U7IOPA  up    CFROOT                active    never           "
               "          never\n"
               "CF2                   two   CFQ2W3E4R5T6Y7U7IOPA  disabled  "
               "2025-06-30T00:00:00.000Z  never\n");
    assert_int_equal(k.errlen, 0);
    cap_close(&k);

    /* One page: the next cursor is pointed out on stderr; --json passes the page through. */
    cap_open(&k);
    fake_push(200, "{\"credentials\": [], \"next_cursor\": \"CF9\"}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "list", "--cursor", "CF 8", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "GET", "http://admin.test:9001/v1/credentials?cursor=CF%208", NULL);
    assert_string_equal(
        k.err, "coffer: warning: more credentials follow: add --cursor CF9, or use --all\n");
    fake_push(200, "{\"credentials\": [], \"next_cursor\": \"CF9\"}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "list", "--json", NULL), CF_CLI_EXIT_OK);
    assert_non_null(strstr(k.out, "{\n  \"credentials\": [],\n  \"next_cursor\": \"CF9\"\n}\n"));
    cap_close(&k);

    /* --all --json: one merged answer. */
    cap_open(&k);
    k.c.json = true;
    fake_push(200, "{\"credentials\": [{\"id\": \"A\"}], \"next_cursor\": \"A\"}");
    fake_push(200, "{\"credentials\": [{\"id\": \"B\"}], \"next_cursor\": null}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "list", "--all", NULL), CF_CLI_EXIT_OK);
    assert_string_equal(k.out, "{\n  \"credentials\": [\n    {\n      \"id\": \"A\"\n    },\n"
                               "    {\n      \"id\": \"B\"\n    }\n  ],\n"
                               "  \"next_cursor\": null\n}\n");
    cap_close(&k);
}

static void test_pagination_guard(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    /* A server repeating its cursor is not followed forever. */
    fake_push(200, "{\"events\": [], \"next_cursor\": \"X\"}");
    fake_push(200, "{\"events\": [], \"next_cursor\": \"X\"}");
    assert_int_equal(run(&k, &cf_cli_audit_group, "--all", NULL), CF_CLI_EXIT_API);
    assert_int_equal(nseen, 2);
    assert_string_equal(k.err, "coffer: the server's pagination does not advance (X)\n");
    /* An answer without the array is refused. */
    fake_push(200, "{\"things\": []}");
    assert_int_equal(run(&k, &cf_cli_audit_group, NULL), CF_CLI_EXIT_API);
    assert_non_null(strstr(k.err, "coffer: unexpected answer from the server (events)\n"));
    cap_close(&k);
}

static void test_credential_show_update(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(200, "{" CRED "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "show", "self", NULL), CF_CLI_EXIT_OK);
    expect_req(0, "GET", "http://admin.test:9001/v1/credentials/self", NULL);
    assert_null(strstr(k.out, "secret_access_key")); /* never shown when not sent */
    assert_non_null(strstr(k.out, "parent_id     CFROOT\n"));
    /* Ids are escaped into one path segment. */
    fake_push(200, "{" CRED "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "show", "../a b?", NULL), CF_CLI_EXIT_OK);
    expect_req(1, "GET", "http://admin.test:9001/v1/credentials/..%2Fa%20b%3F", NULL);

    fake_push(200, "{" CRED "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "update", "CFX", "--name", "n", "--status",
                         "disabled", "--expires-at", "2031-02-03T04:05:06Z", "--any-ip", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(2, "PATCH", "http://admin.test:9001/v1/credentials/CFX",
               "{\"name\": \"n\", \"status\": \"disabled\", \"expires_at\": "
               "\"2031-02-03T04:05:06Z\", \"allowed_ips\": []}");
    fake_push(200, "{" CRED "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "update", "CFX", "--allow-ip", "1.2.3.4",
                         "--allow-ip", "::1", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(3, "PATCH", "http://admin.test:9001/v1/credentials/CFX",
               "{\"allowed_ips\": [\"1.2.3.4\", \"::1\"]}");
    assert_int_equal(k.errlen, 0);
    assert_int_equal(run(&k, &cf_cli_credential_group, "update", "CFX", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_credential_group, "update", "CFX", "--status", "off", NULL),
                     CF_CLI_EXIT_USAGE);
    assert_int_equal(
        run(&k, &cf_cli_credential_group, "update", "CFX", "--any-ip", "--allow-ip", "::1", NULL),
        CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_credential_group, "show", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(nseen, 4);
    cap_close(&k);
}

static void test_credential_rotate_revoke(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(200, "{" CRED ", " SECRETS "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "rotate", "CFX", NULL), CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/credentials/CFX/rotate",
               "{\"grace_seconds\": 0}");
    assert_non_null(strstr(k.out, "secret_access_key  wJalr/XUtn+FEMI=\n"));
    fake_push(200, "{" CRED ", " SECRETS "}");
    assert_int_equal(
        run(&k, &cf_cli_credential_group, "rotate", "CFX", "--grace", "10m", "--env", NULL),
        CF_CLI_EXIT_OK);
    expect_req(1, "POST", "http://admin.test:9001/v1/credentials/CFX/rotate",
               "{\"grace_seconds\": 600}");
    assert_non_null(strstr(k.out, "\nAWS_ACCESS_KEY_ID=CFQ2W3E4R5T6Y7U7IOPA\n"));
    assert_int_equal(run(&k, &cf_cli_credential_group, "rotate", "CFX", "--grace", "8d", NULL),
                     CF_CLI_EXIT_USAGE);

    fake_push(200, "{\"deleted\": 3}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "revoke", "CFX", NULL), CF_CLI_EXIT_OK);
    expect_req(2, "DELETE", "http://admin.test:9001/v1/credentials/CFX", NULL);
    assert_non_null(strstr(k.out, "revoked CFX: 3 credentials deleted\n"));
    cap_close(&k);

    /* --env needs the secrets in the answer. */
    cap_open(&k);
    fake_push(200, "{" CRED "}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "rotate", "CFX", "--env", NULL),
                     CF_CLI_EXIT_API);
    assert_string_equal(k.out, "");
    assert_string_equal(k.err, "coffer: the answer lacks a field (secret_access_key)\n");
    cap_close(&k);
}

/* ---------------------------------------------------------------- buckets */

static void test_bucket_create(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(201, "{\"bucket\": " BUCKET "}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", "customer-42", "--region", "eu-west-1",
                         "--max-bytes", "10GiB", "--max-objects", "100000", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/buckets",
               "{\"name\": \"customer-42\", \"region\": \"eu-west-1\", \"quota\": "
               "{\"max_bytes\": 10737418240, \"max_objects\": 100000}}");
    assert_string_equal(k.out, "name         customer-42\n"
                               "region       us-east-1\n"
                               "created_at   2025-01-02T10:00:00.000Z\n"
                               "objects      3\n"
                               "bytes        2048 (2.0 KiB)\n"
                               "max_bytes    none\n"
                               "max_objects  10\n");
    assert_int_equal(k.errlen, 0);
    cap_close(&k);

    /* The one-call flow: bucket and a credential for it. */
    cap_open(&k);
    fake_push(201, "{\"bucket\": " BUCKET ", \"credential\": {" CRED ", " SECRETS "}}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", "customer-42",
                         "--credential-permission", "object-read-write", "--credential-prefix",
                         "up/", "--credential-prefix", "down/", "--credential-ttl", "30d", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/buckets",
               "{\"name\": \"customer-42\", \"credential\": {\"name\": \"customer-42\", "
               "\"permission\": \"object-read-write\", \"prefixes\": [\"up/\", \"down/\"], "
               "\"ttl_seconds\": 2592000}}");
    assert_non_null(strstr(k.out, "max_objects  10\n\ncredential:\nid  "));
    assert_non_null(strstr(k.out, "token              cft_new'tok\n"));
    assert_non_null(strstr(k.err, "shown only this once"));
    fake_push(201, "{\"bucket\": " BUCKET ", \"credential\": {" CRED ", " SECRETS "}}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", "b", "--credential-permission",
                         "admin-read-only", "--credential-name", "ops", "--env", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(1, "POST", "http://admin.test:9001/v1/buckets",
               "{\"name\": \"b\", \"credential\": {\"name\": \"ops\", \"permission\": "
               "\"admin-read-only\"}}");
    assert_non_null(strstr(k.out, "\nAWS_ACCESS_KEY_ID=CFQ2W3E4R5T6Y7U7IOPA\n"
                                  "AWS_SECRET_ACCESS_KEY=wJalr/XUtn+FEMI=\n"
                                  "COFFER_TOKEN='cft_new'\"'\"'tok'\n"));
    /* --credential-* without the permission, a bad size, no NAME: refused locally. */
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", "b", "--credential-ttl", "1d", NULL),
                     CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", "b", "--max-bytes", "1.5GB", NULL),
                     CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "create", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(
        run(&k, &cf_cli_bucket_group, "create", "b", "--credential-permission", "all", NULL),
        CF_CLI_EXIT_USAGE);
    assert_int_equal(nseen, 2);
    cap_close(&k);
}

static void test_bucket_list_show_update_delete(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(200, "{\"buckets\": [" BUCKET ", {\"name\": \"b\", \"region\": \"r\", "
                   "\"created_at\": \"t\", \"objects\": 0, \"bytes\": 0, \"quota\": "
                   "{\"max_bytes\": 5, \"max_objects\": null}}]}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_OK);
    expect_req(0, "GET", "http://admin.test:9001/v1/buckets", NULL);
    assert_string_equal(k.out,
                        "NAME         REGION     OBJECTS  BYTES  MAX_BYTES  MAX_OBJECTS  "
                        "CREATED_AT\n"
                        "customer-42  us-east-1  3        2048   none       10           "
                        "2025-01-02T10:00:00.000Z\n"
                        "b            r          0        0      5          none         t\n");
    cap_close(&k);

    cap_open(&k);
    fake_push(200, BUCKET);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "show", "customer-42", NULL), CF_CLI_EXIT_OK);
    expect_req(0, "GET", "http://admin.test:9001/v1/buckets/customer-42", NULL);
    fake_push(200, BUCKET);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "update", "customer-42", "--max-bytes", "none",
                         "--max-objects", "1000", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(1, "PATCH", "http://admin.test:9001/v1/buckets/customer-42",
               "{\"quota\": {\"max_bytes\": null, \"max_objects\": 1000}}");
    fake_push(200, BUCKET);
    assert_int_equal(
        run(&k, &cf_cli_bucket_group, "update", "customer-42", "--max-bytes", "2MB", NULL),
        CF_CLI_EXIT_OK);
    expect_req(2, "PATCH", "http://admin.test:9001/v1/buckets/customer-42",
               "{\"quota\": {\"max_bytes\": 2000000}}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "update", "customer-42", NULL),
                     CF_CLI_EXIT_USAGE);
    fake_push(204, NULL);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "delete", "customer-42", NULL), CF_CLI_EXIT_OK);
    expect_req(3, "DELETE", "http://admin.test:9001/v1/buckets/customer-42", NULL);
    assert_non_null(strstr(k.out, "deleted bucket customer-42\n"));
    cap_close(&k);

    /* --json with a 204: nothing to print. */
    cap_open(&k);
    k.c.json = true;
    fake_push(204, NULL);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "delete", "b", NULL), CF_CLI_EXIT_OK);
    assert_int_equal(k.outlen, 0);
    cap_close(&k);
}

/* ---------------------------------------------------------------- temporary credentials, audit */

static void test_temp_credential(void **state)
{
    cap k;
    static const char *const answer =
        "{\"access_key_id\": \"CFTMP\", \"secret_access_key\": \"s3cr3t\", \"session_token\": "
        "\"AQo+/==\", \"expires_at\": \"2025-01-02T10:15:00.000Z\", \"policy\": null}";
    (void)state;
    cap_open(&k);
    fake_push(201, answer);
    assert_int_equal(run(&k, &cf_cli_temp_group, "create", "--credential", "CFX", "--ttl", "15m",
                         "--permission", "object-read-only", "--bucket", "b", "--prefix",
                         "exports/", "--env", NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/temporary-credentials",
               "{\"credential_id\": \"CFX\", \"ttl_seconds\": 900, \"permission\": "
               "\"object-read-only\", \"buckets\": [\"b\"], \"prefixes\": [\"exports/\"]}");
    assert_string_equal(k.out, "AWS_ACCESS_KEY_ID=CFTMP\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"
                               "AWS_SESSION_TOKEN=AQo+/==\n");
    assert_string_equal(k.err, "coffer: warning: the secret access key and session token are "
                               "shown only this once; store them now\n");
    cap_close(&k);

    cap_open(&k);
    fake_push(201, answer);
    assert_int_equal(run(&k, &cf_cli_temp_group, "create", NULL), CF_CLI_EXIT_OK);
    expect_req(0, "POST", "http://admin.test:9001/v1/temporary-credentials", "{}");
    assert_string_equal(k.out, "access_key_id      CFTMP\n"
                               "secret_access_key  s3cr3t\n"
                               "session_token      AQo+/==\n"
                               "expires_at         2025-01-02T10:15:00.000Z\n"
                               "policy:  (none: the parent's rights)\n");
    assert_int_equal(run(&k, &cf_cli_temp_group, "create", "--ttl", "8d", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_temp_group, "create", "--bucket", "b", NULL),
                     CF_CLI_EXIT_USAGE);
    assert_int_equal(nseen, 1);
    cap_close(&k);
}

static void test_audit(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(200, "{\"events\": [{\"seq\": 41, \"time\": \"2025-01-02T10:00:00.000Z\", "
                   "\"actor\": \"CFROOT\", \"action\": \"admin:CreateCredential\", \"target\": "
                   "\"CFX\", \"source_ip\": \"127.0.0.1\", \"outcome\": \"ok\", \"detail\": "
                   "{\"name\": \"x\"}}, {\"seq\": 42, \"time\": \"t\", \"actor\": null, "
                   "\"action\": \"s3:GetObject\", \"target\": \"b/k\", \"source_ip\": \"::1\", "
                   "\"outcome\": \"denied\", \"detail\": null}], \"next_cursor\": null}");
    assert_int_equal(run(&k, &cf_cli_audit_group, "--credential", "CFX", "--since",
                         "2025-01-01T00:00:00+01:00", "--until", "2025-01-03", "--limit", "50",
                         NULL),
                     CF_CLI_EXIT_OK);
    expect_req(0, "GET",
               "http://admin.test:9001/v1/audit?credential=CFX&since=2024-12-31T23%3A00%3A00Z"
               "&until=2025-01-03T00%3A00%3A00Z&limit=50",
               NULL);
    assert_string_equal(k.out,
                        "SEQ  TIME                      ACTOR   ACTION                  TARGET  "
                        "SOURCE_IP  OUTCOME  DETAIL\n"
                        "41   2025-01-02T10:00:00.000Z  CFROOT  admin:CreateCredential  CFX     "
                        "127.0.0.1  ok       {\"name\":\"x\"}\n"
                        "42   t                         -       s3:GetObject            b/k     "
                        "::1        denied\n");
    assert_int_equal(run(&k, &cf_cli_audit_group, "--limit", "1001", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(run(&k, &cf_cli_audit_group, "--since", "last week", NULL), CF_CLI_EXIT_USAGE);
    assert_int_equal(nseen, 1);
    cap_close(&k);
}

/* ---------------------------------------------------------------- errors */

static void test_api_errors(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    fake_push(404, "{\"error\": {\"code\": \"not_found\", \"message\": \"No credential CFX in "
                   "your tree.\", \"field\": \"id\"}}");
    assert_int_equal(run(&k, &cf_cli_credential_group, "show", "CFX", NULL), CF_CLI_EXIT_API);
    fake_push(401, "{\"error\": {\"code\": \"unauthorized\", \"message\": \"Bad token.\"}}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_API);
    fake_push(400, "{\"error\": {\"code\": \"invalid_request\", \"message\": \"Unknown "
                   "action.\", \"field\": \"policy.Statement[0].Action\"}}");
    assert_int_equal(run(&k, &cf_cli_temp_group, "create", NULL), CF_CLI_EXIT_API);
    fake_push(502, "<html>bad gateway</html>");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_API);
    fake_push(409, "{\"error\": {\"code\": \"conflict\"}}");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "delete", "b", NULL), CF_CLI_EXIT_API);
    fake_push(301, NULL);
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_API);
    fake_push(200, "not json");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_API);
    fake_push(200, "[]");
    assert_int_equal(run(&k, &cf_cli_bucket_group, "show", "b", NULL), CF_CLI_EXIT_API);
    answers[nanswers++] = (fake_answer){CF_EIO, 0, NULL, false};
    assert_int_equal(run(&k, &cf_cli_health_group, NULL), CF_CLI_EXIT_API);
    answers[nanswers++] = (fake_answer){CF_OK, 200, NULL, true};
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_API);
    /* In order; jansson's wording of a parse error is only checked in part. */
    static const char *const lines[] = {
        "coffer: No credential CFX in your tree. (id)\n",
        "coffer: Bad token.\n",
        "coffer: Unknown action. (policy.Statement[0].Action)\n",
        "coffer: the server answered HTTP 502\n",
        "coffer: the server answered HTTP 409 conflict\n",
        "coffer: the server answered HTTP 301\n",
        "coffer: the answer is not JSON: line 1 column ",
        " (http://admin.test:9001/v1/buckets)\n",
        "coffer: unexpected answer from the server\n",
        "coffer: Couldn't connect to server (http://admin.test:9001/v1/health)\n",
        "coffer: the answer is larger than 16 MiB (http://admin.test:9001/v1/buckets)\n",
    };
    const char *at = k.err;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        const char *hit = strstr(at, lines[i]);
        if (!hit)
            fail_msg("missing [%s] in stderr:\n%s", lines[i], k.err);
        at = hit + strlen(lines[i]);
    }
    assert_string_equal(at, "");
    assert_int_equal(k.outlen, 0);
    cap_close(&k);
}

static void test_target_checks(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    k.c.token = NULL;
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_USAGE);
    k.c.token = "has space";
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_USAGE);
    k.c.token = "cft_ok";
    k.c.url = "ftp://admin.test";
    assert_int_equal(run(&k, &cf_cli_bucket_group, "list", NULL), CF_CLI_EXIT_USAGE);
    k.c.url = "";
    assert_int_equal(run(&k, &cf_cli_health_group, NULL), CF_CLI_EXIT_USAGE);
    /* --url / --token on the command line win. */
    fake_push(200, "{\"buckets\": []}");
    assert_int_equal(
        run(&k, &cf_cli_bucket_group, "list", "--url", "https://h:1/", "--token=cft_cli", NULL),
        CF_CLI_EXIT_OK);
    expect_req(0, "GET", "https://h:1/v1/buckets", NULL);
    assert_string_equal(seen[0].token, "cft_cli");
    assert_int_equal(nseen, 1);
    assert_string_equal(k.err, "coffer: no token: set COFFER_TOKEN or pass --token (COFFER_TOKEN)\n"
                               "coffer: the token has spaces or control characters (COFFER_TOKEN)\n"
                               "coffer: not an http:// or https:// URL: ftp://admin.test (--url)\n"
                               "coffer: empty URL (--url)\n");
    cap_close(&k);
}

static void test_url_escape(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 1024);
    assert_int_equal(cf_cli_url_escape(&b, "aZ09-._~ /?#&=%+ü"), CF_OK);
    assert_string_equal(b.p, "aZ09-._~%20%2F%3F%23%26%3D%25%2B%C3%BC");
    cf_buf_reset(&b);
    assert_int_equal(cf_buf_append_c(&b, "/v1/audit"), CF_OK);
    assert_int_equal(cf_cli_query(&b, "since", NULL), CF_OK);
    assert_int_equal(cf_cli_query(&b, "a b", "1&2"), CF_OK);
    assert_int_equal(cf_cli_query(&b, "c", ""), CF_OK);
    assert_string_equal(b.p, "/v1/audit?a%20b=1%262&c=");
    cf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_credential_create),
        cmocka_unit_test(test_credential_create_env_and_policy),
        cmocka_unit_test(test_credential_create_usage),
        cmocka_unit_test(test_credential_list),
        cmocka_unit_test(test_pagination_guard),
        cmocka_unit_test(test_credential_show_update),
        cmocka_unit_test(test_credential_rotate_revoke),
        cmocka_unit_test(test_bucket_create),
        cmocka_unit_test(test_bucket_list_show_update_delete),
        cmocka_unit_test(test_temp_credential),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_target_checks),
        cmocka_unit_test(test_url_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
