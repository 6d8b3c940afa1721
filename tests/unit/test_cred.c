/* Credentials: the master key (env and file), sealing, random identifiers, the root
 * credential's bootstrap (against the real SQLite store) and lookup. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/cred.h"
#include "auth/credcache.h"
#include "core/crypto.h"
#include "meta/meta_sqlite.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char tmpdir[64];
static char err_text[65536]; /* what the last captured call logged */

static const char root_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
    "\"Allow\",\"Action\":[\"s3:*\",\"admin:*\"],\"Resource\":\"*\"}]}";

static void clear_env(void)
{
    unsetenv("COFFER_MASTER_KEY");
    unsetenv("COFFER_ROOT_ACCESS_KEY_ID");
    unsetenv("COFFER_ROOT_SECRET_ACCESS_KEY");
    unsetenv("COFFER_ROOT_TOKEN");
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/coffer-test-cred-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* stderr of the code under test goes to err_text between these two calls. */
static int saved_fd = -1;
static FILE *cap_file;

static void capture_begin(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    assert_non_null(cap_file);
    saved_fd = dup(2);
    dup2(fileno(cap_file), 2);
}

static void capture_end(void)
{
    size_t n;
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    rewind(cap_file);
    n = fread(err_text, 1, sizeof(err_text) - 1, cap_file);
    err_text[n] = '\0';
    fclose(cap_file);
}

/* Runs call with stderr captured; asserts only once stderr is back. */
#define CAPTURED(call, want)                                                                       \
    do {                                                                                           \
        capture_begin();                                                                           \
        cf_rc rc_ = (call);                                                                        \
        capture_end();                                                                             \
        assert_int_equal(rc_, (want));                                                             \
    } while (0)

static void load_key(cf_keyring *kr)
{
    setenv("COFFER_MASTER_KEY", KEY_HEX, 1);
    assert_int_equal(cf_keyring_load(NULL, kr), CF_OK);
    unsetenv("COFFER_MASTER_KEY");
}

/* ---- master key ---- */

static void test_keyring_env(void **state)
{
    cf_keyring kr;
    static const char *const bad[] = {
        "",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", /* 65 */
        "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    };
    const char *dir = path_in("envdir");
    struct stat st;
    (void)state;

    setenv("COFFER_MASTER_KEY", KEY_HEX, 1);
    assert_int_equal(cf_keyring_load(dir, &kr), CF_OK);
    for (int i = 0; i < 32; i++)
        assert_int_equal(kr.master[i], i);
    /* The variable wins: no key file, not even the directory, is made. */
    assert_int_not_equal(stat(dir, &st), 0);
    setenv("COFFER_MASTER_KEY", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
           1);
    assert_int_equal(cf_keyring_load(dir, &kr), CF_OK);
    assert_int_equal(kr.master[31], 31);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("COFFER_MASTER_KEY", bad[i], 1);
        CAPTURED(cf_keyring_load(dir, &kr), CF_EINVAL);
        assert_non_null(strstr(err_text, "COFFER_MASTER_KEY"));
        assert_null(strstr(err_text, "0001020304")); /* the key is never logged */
    }
}

static void check_key_file(const char *dir, const cf_keyring *kr)
{
    char path[300], text[100], hex[65];
    struct stat st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/master.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    assert_int_equal(n, 65);
    assert_int_equal(text[64], '\n');
    cf_hex_encode(kr->master, 32, hex);
    assert_memory_equal(text, hex, 64);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_keyring_file_create(void **state)
{
    cf_keyring kr, kr2, zero;
    const char *dir = path_in("data1");
    mode_t old;
    (void)state;

    memset(&zero, 0, sizeof(zero));
    /* The data directory does not exist yet: it is made. */
    CAPTURED(cf_keyring_load(dir, &kr), CF_OK);
    assert_memory_not_equal(&kr, &zero, sizeof(kr));
    check_key_file(dir, &kr);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */

    /* A second start reads the same key. */
    assert_int_equal(cf_keyring_load(dir, &kr2), CF_OK);
    assert_memory_equal(&kr, &kr2, sizeof(kr));

    /* A restrictive umask still yields a readable 0600 file; a loose one no wider. */
    old = umask(0277);
    dir = path_in("data2");
    assert_int_equal(mkdir(dir, 0700), 0);
    CAPTURED(cf_keyring_load(dir, &kr2), CF_OK);
    umask(0);
    check_key_file(dir, &kr2);
    assert_memory_not_equal(&kr, &kr2, sizeof(kr));
    dir = path_in("data3");
    CAPTURED(cf_keyring_load(dir, &kr2), CF_OK);
    umask(old);
    check_key_file(dir, &kr2);

    /* Bad arguments. */
    CAPTURED(cf_keyring_load(NULL, &kr), CF_EINVAL);
    CAPTURED(cf_keyring_load("", &kr), CF_EINVAL);
    CAPTURED(cf_keyring_load("/nonexistent/a/b", &kr), CF_EIO);
}

static void test_keyring_file_refuse(void **state)
{
    cf_keyring kr, want;
    const char *dir = path_in("data4");
    char key[256], target[256];
    static const struct {
        const char *text;
        mode_t mode;
        cf_rc rc;
    } cases[] = {
        {KEY_HEX "\n", 0600, CF_OK},
        {KEY_HEX "\n", 0400, CF_OK},
        {KEY_HEX, 0600, CF_OK}, /* a missing final newline is forgiven */
        {KEY_HEX "\n", 0644, CF_EINVAL},
        {KEY_HEX "\n", 0640, CF_EINVAL},
        {KEY_HEX "\n", 0604, CF_EINVAL},
        {KEY_HEX "\n", 0700, CF_EINVAL},
        {KEY_HEX "\n", 0660, CF_EINVAL},
        {"", 0600, CF_EINVAL},
        {"xyz\n", 0600, CF_EINVAL},
        {KEY_HEX "\n\n", 0600, CF_EINVAL},
        {KEY_HEX " \n", 0600, CF_EINVAL},
        {" " KEY_HEX "\n", 0600, CF_EINVAL},
        {KEY_HEX "00\n", 0600, CF_EINVAL},
        {"z00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0600, CF_EINVAL},
    };
    (void)state;

    load_key(&want);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(key, sizeof(key), "%s/master.key", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unlink(key);
        write_text(key, cases[i].text, cases[i].mode);
        capture_begin();
        cf_rc rc = cf_keyring_load(dir, &kr);
        capture_end();
        if (rc != cases[i].rc)
            fail_msg("case %zu: got %s, want %s", i, cf_rc_str(rc), cf_rc_str(cases[i].rc));
        if (rc == CF_OK) {
            assert_memory_equal(&kr, &want, sizeof(kr));
        } else {
            assert_non_null(strstr(err_text, "master key"));
            assert_null(strstr(err_text, "0001020304"));
        }
        /* A refused file is left alone, never replaced. */
        struct stat st;
        assert_int_equal(stat(key, &st), 0);
        assert_int_equal(st.st_mode & 0777, cases[i].mode);
    }
    unlink(key);
    write_text(key, KEY_HEX "\n", 0644);
    CAPTURED(cf_keyring_load(dir, &kr), CF_EINVAL);
    assert_non_null(strstr(err_text, "wider than 0600"));

    /* Not a regular file. */
    unlink(key);
    assert_int_equal(mkdir(key, 0700), 0);
    CAPTURED(cf_keyring_load(dir, &kr), CF_EINVAL);
    rmdir(key);

    /* A symlink is followed, and its target's permissions are what count. */
    snprintf(target, sizeof(target), "%s/key.target", tmpdir);
    write_text(target, KEY_HEX "\n", 0600);
    assert_int_equal(symlink(target, key), 0);
    assert_int_equal(cf_keyring_load(dir, &kr), CF_OK);
    assert_memory_equal(&kr, &want, sizeof(kr));
    assert_int_equal(chmod(target, 0644), 0);
    CAPTURED(cf_keyring_load(dir, &kr), CF_EINVAL);
    unlink(key);
}

/* ---- sealing ---- */

static void test_seal_open(void **state)
{
    cf_keyring kr, other;
    cf_arena *a = cf_arena_new(0);
    cf_str sealed, sealed2, plain;
    const cf_str id = CF_STR("CFAAAAAAAAAAAAAAAAAA");
    const cf_str secret = CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    (void)state;

    assert_non_null(a);
    load_key(&kr);
    other = kr;
    other.master[0] ^= 1;

    assert_int_equal(cf_secret_seal(&kr, id, secret, a, &sealed), CF_OK);
    assert_true(sealed.len == cf_b64_enclen(secret.len + CF_GCM_OVERHEAD));
    assert_null(memmem(sealed.p, sealed.len, "wJalr", 5));
    assert_int_equal(cf_secret_open(&kr, id, sealed, a, &plain), CF_OK);
    assert_true(cf_str_eq(plain, secret));
    assert_int_equal(plain.p[plain.len], '\0');

    /* A fresh nonce every time. */
    assert_int_equal(cf_secret_seal(&kr, id, secret, a, &sealed2), CF_OK);
    assert_false(cf_str_eq(sealed, sealed2));

    /* Bound to the credential id and to the key. */
    assert_int_equal(cf_secret_open(&kr, CF_STR("CFAAAAAAAAAAAAAAAAAB"), sealed, a, &plain),
                     CF_EINVAL);
    assert_int_equal(cf_secret_open(&kr, CF_STR(""), sealed, a, &plain), CF_EINVAL);
    assert_int_equal(cf_secret_open(&other, id, sealed, a, &plain), CF_EINVAL);

    /* Any changed byte is caught. */
    for (size_t i = 0; i + 4 < sealed.len; i += 7) {
        char *t = cf_arena_strndup(a, sealed.p, sealed.len);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_int_equal(cf_secret_open(&kr, id, cf_str_make(t, sealed.len), a, &plain), CF_EINVAL);
    }

    /* Malformed input. */
    assert_int_equal(cf_secret_open(&kr, id, CF_STR("!!!!"), a, &plain), CF_EINVAL);
    assert_int_equal(cf_secret_open(&kr, id, CF_STR(""), a, &plain), CF_EINVAL);
    assert_int_equal(cf_secret_open(&kr, id, CF_STR("AAAAAAAAAAAA"), a, &plain), CF_EINVAL);
    assert_int_equal(cf_secret_open(&kr, id, cf_str_sub(sealed, 0, sealed.len - 4), a, &plain),
                     CF_EINVAL);

    /* An empty secret round-trips too. */
    assert_int_equal(cf_secret_seal(&kr, id, CF_STR(""), a, &sealed), CF_OK);
    assert_int_equal(cf_secret_open(&kr, id, sealed, a, &plain), CF_OK);
    assert_int_equal(plain.len, 0);
    cf_arena_destroy(a);
}

/* ---- identifiers ---- */

static void check_alphabet(const char *s, size_t n, const char *alphabet, int *seen)
{
    for (size_t i = 0; i < n; i++) {
        const char *q = strchr(alphabet, s[i]);
        if (!s[i] || !q)
            fail_msg("character %d of \"%s\" is outside the alphabet", (int)i, s);
        seen[q - alphabet]++;
    }
}

static void test_ids(void **state)
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int seen_ak[32] = {0}, seen_sk[62] = {0}, seen_tok[62] = {0};
    char ak[CF_ACCESS_KEY_LEN + 1], sk[CF_SECRET_KEY_LEN + 1], tok[48];
    char prev_ak[CF_ACCESS_KEY_LEN + 1] = "", prev_sk[CF_SECRET_KEY_LEN + 1] = "",
                                     prev_tok[48] = "";
    (void)state;

    for (int i = 0; i < 2000; i++) {
        assert_int_equal(cf_cred_new_access_key(ak), CF_OK);
        assert_int_equal(strlen(ak), 20);
        assert_memory_equal(ak, "CF", 2);
        check_alphabet(ak + 2, 18, b32, seen_ak);
        assert_string_not_equal(ak, prev_ak);
        memcpy(prev_ak, ak, sizeof(ak));

        assert_int_equal(cf_cred_new_secret(sk), CF_OK);
        assert_int_equal(strlen(sk), 40);
        check_alphabet(sk, 40, alnum, seen_sk);
        assert_string_not_equal(sk, prev_sk);
        memcpy(prev_sk, sk, sizeof(sk));

        assert_int_equal(cf_cred_new_token(tok), CF_OK);
        assert_int_equal(strlen(tok), 47);
        assert_memory_equal(tok, "cft_", 4);
        check_alphabet(tok + 4, 43, alnum, seen_tok);
        assert_string_not_equal(tok, prev_tok);
        memcpy(prev_tok, tok, sizeof(tok));
    }
    /* Every character turns up (missing one by chance is below 1e-300). */
    for (int i = 0; i < 32; i++)
        assert_true(seen_ak[i] > 0);
    for (int i = 0; i < 62; i++)
        assert_true(seen_sk[i] > 0 && seen_tok[i] > 0);
}

static void test_token_hash(void **state)
{
    char h[65];
    (void)state;
    cf_cred_token_hash(CF_STR("abc"), h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- bootstrap and lookup ---- */

static cf_meta *open_meta(const char *name)
{
    cf_meta *m;
    capture_begin(); /* the migration's log line */
    m = cf_meta_sqlite_open(path_in(name), false);
    capture_end();
    assert_non_null(m);
    return m;
}

static uint64_t cred_count(cf_meta *m)
{
    uint64_t n = 99;
    assert_int_equal(cf_meta_call(m, cred_count, &n), CF_OK);
    return n;
}

static void check_root(cf_meta *m, const cf_keyring *kr, const cf_root_info *ri)
{
    cf_arena *a = cf_arena_new(0);
    cf_cred c;
    char h[65];

    assert_non_null(a);
    assert_int_equal(cf_cred_lookup(m, kr, cf_str_c(ri->access_key), a, &c), CF_OK);
    assert_true(cf_str_eq_c(c.row.id, ri->access_key));
    assert_true(cf_str_eq_c(c.secret, ri->secret));
    assert_int_equal(c.old_secret.len, 0);
    assert_true(cf_str_eq_c(c.row.name, "root"));
    assert_int_equal(c.row.parent_id.len, 0);
    assert_true(cf_str_eq_c(c.row.policy, root_policy));
    assert_int_equal(c.row.status, CF_CRED_ACTIVE);
    assert_true(c.row.created_ms == 1700000000000);
    assert_true(c.row.expires_ms == 0);
    assert_true(c.row.not_before_ms == 0);
    cf_cred_token_hash(cf_str_c(ri->token), h);
    assert_true(cf_str_eq_c(c.row.token_hash, h));
    /* Only the sealed form is stored. */
    assert_null(memmem(c.row.secret_sealed.p, c.row.secret_sealed.len, ri->secret, 10));
    cf_arena_destroy(a);
}

static void test_bootstrap_random(void **state)
{
    cf_keyring kr;
    cf_root_info ri, again;
    cf_meta *m = open_meta("boot1.db");
    (void)state;

    load_key(&kr);
    assert_int_equal(cred_count(m), 0);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);
    assert_true(ri.created);
    assert_int_equal(strlen(ri.access_key), 20);
    assert_memory_equal(ri.access_key, "CF", 2);
    assert_int_equal(strlen(ri.secret), 40);
    assert_int_equal(strlen(ri.token), 47);
    assert_memory_equal(ri.token, "cft_", 4);
    /* The log names the key id but never the secret or the token. */
    assert_null(strstr(err_text, ri.secret));
    assert_null(strstr(err_text, ri.token));
    assert_int_equal(cred_count(m), 1);
    check_root(m, &kr, &ri);

    /* Only on an empty table: a second start changes nothing and reveals nothing. */
    assert_int_equal(cf_cred_bootstrap_root(m, &kr, 1800000000000, &again), CF_OK);
    assert_false(again.created);
    assert_string_equal(again.access_key, "");
    assert_string_equal(again.secret, "");
    assert_string_equal(again.token, "");
    assert_int_equal(cred_count(m), 1);
    check_root(m, &kr, &ri);
    m->ops->close(m);
}

static void test_bootstrap_env(void **state)
{
    cf_keyring kr;
    cf_root_info ri, again;
    cf_meta *m = open_meta("boot2.db");
    (void)state;

    load_key(&kr);
    setenv("COFFER_ROOT_ACCESS_KEY_ID", "admin.user_1-x", 1);
    setenv("COFFER_ROOT_SECRET_ACCESS_KEY", "s3cr3t/with+punct=~", 1);
    setenv("COFFER_ROOT_TOKEN", "my-fixed-token-for-tests", 1);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);
    assert_true(ri.created);
    assert_string_equal(ri.access_key, "admin.user_1-x");
    assert_string_equal(ri.secret, "s3cr3t/with+punct=~");
    assert_string_equal(ri.token, "my-fixed-token-for-tests");
    check_root(m, &kr, &ri);

    /* Same values again: quietly nothing. */
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &again), CF_OK);
    assert_false(again.created);
    assert_null(strstr(err_text, "WARN"));

    /* A different id: a warning, and the root is unchanged. */
    setenv("COFFER_ROOT_ACCESS_KEY_ID", "someone-else", 1);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &again), CF_OK);
    assert_false(again.created);
    assert_non_null(strstr(err_text, "WARN"));
    assert_non_null(strstr(err_text, "someone-else"));
    assert_int_equal(cred_count(m), 1);
    check_root(m, &kr, &ri);

    /* Same id, changed secret or token: warned about, never echoed. */
    setenv("COFFER_ROOT_ACCESS_KEY_ID", "admin.user_1-x", 1);
    setenv("COFFER_ROOT_SECRET_ACCESS_KEY", "another-secret", 1);
    setenv("COFFER_ROOT_TOKEN", "another-token", 1);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &again), CF_OK);
    assert_non_null(strstr(err_text, "COFFER_ROOT_SECRET_ACCESS_KEY differs"));
    assert_non_null(strstr(err_text, "COFFER_ROOT_TOKEN differs"));
    assert_null(strstr(err_text, "another-secret"));
    assert_null(strstr(err_text, "another-token"));
    check_root(m, &kr, &ri);
    m->ops->close(m);
}

static void test_bootstrap_partial_env(void **state)
{
    cf_keyring kr;
    cf_root_info ri;
    cf_meta *m = open_meta("boot3.db");
    (void)state;

    /* Only the secret is given: the id and token are random. */
    load_key(&kr);
    setenv("COFFER_ROOT_SECRET_ACCESS_KEY", "only-the-secret", 1);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);
    assert_true(ri.created);
    assert_int_equal(strlen(ri.access_key), 20);
    assert_string_equal(ri.secret, "only-the-secret");
    assert_int_equal(strlen(ri.token), 47);
    check_root(m, &kr, &ri);
    m->ops->close(m);
}

static void test_bootstrap_env_invalid(void **state)
{
    static const struct {
        const char *var, *value;
    } bad[] = {
        {"COFFER_ROOT_ACCESS_KEY_ID", "ab"},
        {"COFFER_ROOT_ACCESS_KEY_ID", ""},
        {"COFFER_ROOT_ACCESS_KEY_ID", "has space"},
        {"COFFER_ROOT_ACCESS_KEY_ID", "slash/no"},
        {"COFFER_ROOT_ACCESS_KEY_ID", NULL}, /* 129 characters, made below */
        {"COFFER_ROOT_SECRET_ACCESS_KEY", "short"},
        {"COFFER_ROOT_SECRET_ACCESS_KEY", "has a space"},
        {"COFFER_ROOT_SECRET_ACCESS_KEY", "tab\there!"},
        {"COFFER_ROOT_SECRET_ACCESS_KEY", "caf\xc3\xa9-latte"},
        {"COFFER_ROOT_TOKEN", "1234567"},
        {"COFFER_ROOT_TOKEN", NULL},
        {"COFFER_ROOT_SECRET_ACCESS_KEY", NULL},
    };
    cf_keyring kr;
    cf_root_info ri;
    cf_meta *m = open_meta("boot4.db");
    char len128[129], len129[130];
    (void)state;

    memset(len128, 'x', 128);
    len128[128] = '\0';
    memset(len129, 'x', 129);
    len129[129] = '\0';

    load_key(&kr);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clear_env();
        setenv(bad[i].var, bad[i].value ? bad[i].value : len129, 1);
        capture_begin();
        cf_rc rc = cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri);
        capture_end();
        if (rc != CF_EINVAL)
            fail_msg("%s=\"%s\" accepted", bad[i].var, bad[i].value ? bad[i].value : len129);
        assert_non_null(strstr(err_text, bad[i].var));
        assert_false(ri.created);
        assert_int_equal(cred_count(m), 0);
    }
    /* The edges that are fine: 3 and 128 characters of id, 8 and 128 of secret. */
    clear_env();
    setenv("COFFER_ROOT_ACCESS_KEY_ID", "abc", 1);
    setenv("COFFER_ROOT_SECRET_ACCESS_KEY", "12345678", 1);
    assert_int_equal(cred_count(m), 0);
    setenv("COFFER_ROOT_TOKEN", len128, 1);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);
    assert_true(ri.created);
    assert_int_equal(strlen(ri.token), 128);
    check_root(m, &kr, &ri);
    m->ops->close(m);
}

static void test_lookup(void **state)
{
    cf_keyring kr, other;
    cf_root_info ri;
    cf_meta *m = open_meta("lookup.db");
    cf_arena *a = cf_arena_new(0);
    cf_cred c;
    cf_cred_row row;
    (void)state;

    assert_non_null(a);
    load_key(&kr);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);

    assert_int_equal(cf_cred_lookup(m, &kr, CF_STR("CFNOSUCHKEY"), a, &c), CF_ENOTFOUND);

    /* A rotation in progress: both secrets open. */
    assert_int_equal(cf_cred_lookup(m, &kr, cf_str_c(ri.access_key), a, &c), CF_OK);
    row = c.row;
    row.old_secret_sealed = row.secret_sealed;
    row.old_secret_until_ms = 1800000000000;
    assert_int_equal(
        cf_secret_seal(&kr, row.id, CF_STR("the-new-secret-0123456789"), a, &row.secret_sealed),
        CF_OK);
    assert_int_equal(cf_meta_call(m, cred_update, &row), CF_OK);
    assert_int_equal(cf_cred_lookup(m, &kr, cf_str_c(ri.access_key), a, &c), CF_OK);
    assert_true(cf_str_eq_c(c.secret, "the-new-secret-0123456789"));
    assert_true(cf_str_eq_c(c.old_secret, ri.secret));

    /* Another master key cannot open the store: a server-side failure, logged. */
    other = kr;
    other.master[5] ^= 0x40;
    CAPTURED(cf_cred_lookup(m, &other, cf_str_c(ri.access_key), a, &c), CF_EIO);
    assert_non_null(strstr(err_text, "master key"));
    assert_non_null(strstr(err_text, ri.access_key));

    cf_arena_destroy(a);
    m->ops->close(m);
}

/* The cache serves one entry per credential epoch: a hit is the same entry, any credential
 * write makes the next get reload, and an entry a request still holds outlives its slot. */
static void test_credcache(void **state)
{
    cf_keyring kr;
    cf_root_info ri;
    cf_meta *m = open_meta("cache.db");
    cf_arena *a = cf_arena_new(0), *b = cf_arena_new(0);
    cf_cred_entry *e1, *e2, *e3;
    cf_credcache *cc;
    cf_cred_row row;
    (void)state;

    assert_non_null(a);
    assert_non_null(b);
    load_key(&kr);
    CAPTURED(cf_cred_bootstrap_root(m, &kr, 1700000000000, &ri), CF_OK);
    cc = cf_credcache_new(m, &kr, 16);
    assert_non_null(cc);

    assert_int_equal(cf_credcache_get(cc, CF_STR("CFNOSUCHKEY"), a, &e1), CF_ENOTFOUND);
    assert_int_equal(cf_credcache_get(cc, cf_str_c(ri.access_key), a, &e1), CF_OK);
    assert_true(cf_str_eq_c(e1->cred.secret, ri.secret));
    assert_int_equal(e1->nchain, 1);
    assert_int_equal(e1->npolicies, 1);
    assert_true(e1->memoized);
    assert_int_equal(cf_credcache_get(cc, cf_str_c(ri.access_key), b, &e2), CF_OK);
    assert_ptr_equal(e1, e2);

    /* Disabling it is seen at once, while the old entry stays readable for its holder. */
    row = e1->cred.row;
    row.status = CF_CRED_DISABLED;
    assert_int_equal(cf_meta_call(m, cred_update, &row), CF_OK);
    assert_int_equal(cf_credcache_get(cc, cf_str_c(ri.access_key), b, &e3), CF_OK);
    assert_ptr_not_equal(e3, e1);
    assert_int_equal(e3->cred.row.status, CF_CRED_DISABLED);
    assert_int_equal(e1->cred.row.status, CF_CRED_ACTIVE);
    assert_true(cf_str_eq_c(e1->cred.secret, ri.secret));
    cf_arena_destroy(a); /* drops the last reference to the replaced entry */

    /* Deleting it: unknown from the next get on. */
    uint64_t n = 0;
    assert_int_equal(cf_meta_call(m, cred_delete_subtree, cf_str_c(ri.access_key), &n), CF_OK);
    a = cf_arena_new(0);
    assert_int_equal(cf_credcache_get(cc, cf_str_c(ri.access_key), a, &e1), CF_ENOTFOUND);

    /* Without slots nothing is kept: each get loads into the caller's arena. */
    cf_credcache_free(cc);
    cc = cf_credcache_new(m, &kr, 0);
    assert_non_null(cc);
    assert_int_equal(cf_credcache_get(cc, cf_str_c(ri.access_key), a, &e1), CF_ENOTFOUND);
    cf_credcache_free(cc);
    cf_arena_destroy(a);
    cf_arena_destroy(b); /* e3 and the freed cache's slot reference are gone now */
    m->ops->close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_keyring_env, setup),
        cmocka_unit_test_setup(test_keyring_file_create, setup),
        cmocka_unit_test_setup(test_keyring_file_refuse, setup),
        cmocka_unit_test_setup(test_seal_open, setup),
        cmocka_unit_test_setup(test_ids, setup),
        cmocka_unit_test_setup(test_token_hash, setup),
        cmocka_unit_test_setup(test_bootstrap_random, setup),
        cmocka_unit_test_setup(test_bootstrap_env, setup),
        cmocka_unit_test_setup(test_bootstrap_partial_env, setup),
        cmocka_unit_test_setup(test_bootstrap_env_invalid, setup),
        cmocka_unit_test_setup(test_lookup, setup),
        cmocka_unit_test_setup(test_credcache, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
