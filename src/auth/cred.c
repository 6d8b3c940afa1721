/* Credentials at rest: the master key, sealed secrets, random identifiers, the root
 * credential created on first start, and lookup with the secrets opened. */
#include "auth/cred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"

#define MASTER_FILE    "master.key"
#define MASTER_HEX     64
#define SECRET_MAX     4096 /* sealed secrets are S3 secrets, far below this */
#define ENV_ID_MAX     128
#define ENV_ID_MIN     3
#define ENV_SECRET_MIN 8
#define ENV_SECRET_MAX 128

static const char root_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
    "\"Action\":[\"s3:*\",\"admin:*\"],\"Resource\":\"*\"}]}";

static const char base32_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char alnum_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* ---- master key ---- */

static cf_rc read_key_file(const char *path, cf_keyring *out)
{
    cf_rc rc = CF_EIO;
    int fd = -1;
    struct stat st;
    char text[MASTER_HEX + 3];
    size_t len = 0;
    cf_str hex;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? CF_ENOTFOUND : CF_EIO;
        if (rc == CF_EIO)
            cf_error("master key %s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        cf_error("master key %s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        cf_error("master key %s: not a regular file", path);
        rc = CF_EINVAL;
        goto out;
    }
    /* Anyone else able to read it could open every stored secret. */
    if ((st.st_mode & 0777 & ~(mode_t)0600) != 0) {
        cf_error("master key %s: permissions %03o are wider than 0600; fix with chmod 600", path,
                 (unsigned)(st.st_mode & 0777));
        rc = CF_EINVAL;
        goto out;
    }
    while (len < sizeof(text)) {
        ssize_t r = read(fd, text + len, sizeof(text) - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cf_error("master key %s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    hex = cf_str_make(text, len);
    if (hex.len == MASTER_HEX + 1 && text[MASTER_HEX] == '\n')
        hex.len--;
    if (!cf_str_hex_decode(hex, out->master, sizeof(out->master))) {
        cf_error("master key %s: expected 64 hex characters and a newline", path);
        rc = CF_EINVAL;
        goto out;
    }
    rc = CF_OK;
out:
    explicit_bzero(text, sizeof(text));
    if (fd >= 0)
        close(fd);
    return rc;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Publishes tmp as path unless path exists: a racing start-up must not replace a key that
 * may already have sealed secrets. CF_EEXIST if it lost the race. */
static cf_rc publish_noreplace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return CF_OK;
    if (errno == EEXIST)
        return CF_EEXIST;
    if (errno != EINVAL && errno != ENOSYS)
        return CF_EIO;
    /* No RENAME_NOREPLACE on this file system: a hard link is just as exclusive. */
    if (link(tmp, path) != 0)
        return errno == EEXIST ? CF_EEXIST : CF_EIO;
    unlink(tmp);
    return CF_OK;
}

static cf_rc create_key_file(const char *data_dir, const char *path, cf_keyring *out)
{
    cf_rc rc;
    int fd = -1, dfd = -1;
    char tmp[4200];
    uint8_t key[32], nonce[8];
    char text[MASTER_HEX + 2], nhex[17];
    bool tmp_made = false;

    rc = cf_random(key, sizeof(key));
    if (rc == CF_OK)
        rc = cf_random(nonce, sizeof(nonce));
    if (rc != CF_OK) {
        cf_error("master key: the random generator failed");
        goto out;
    }
    cf_hex_encode(nonce, sizeof(nonce), nhex);
    if (snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", data_dir, MASTER_FILE, nhex) >=
        (int)sizeof(tmp)) {
        rc = CF_EINVAL;
        goto out;
    }
    rc = CF_EIO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        cf_error("master key: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    cf_hex_encode(key, sizeof(key), text);
    text[MASTER_HEX] = '\n';
    /* The umask may only narrow the mode; fchmod makes it exactly 0600 (owner can read). */
    if (fchmod(fd, 0600) != 0 || !write_all(fd, text, MASTER_HEX + 1) || fsync(fd) != 0) {
        cf_error("master key: cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        cf_error("master key: cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    rc = publish_noreplace(tmp, path);
    if (rc == CF_EEXIST) {
        /* Another process created it first: use theirs. */
        rc = read_key_file(path, out);
        goto out;
    }
    if (rc != CF_OK) {
        cf_error("master key: cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    tmp_made = false;
    /* The new name must survive a crash too. */
    dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        cf_error("master key: cannot sync %s: %s", data_dir, strerror(errno));
        rc = CF_EIO;
        goto out;
    }
    memcpy(out->master, key, sizeof(key));
    cf_info("master key: created %s", path);
    rc = CF_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp_made)
        unlink(tmp);
    explicit_bzero(key, sizeof(key));
    explicit_bzero(text, sizeof(text));
    return rc;
}

cf_rc cf_keyring_load(const char *data_dir, cf_keyring *out)
{
    cf_rc rc = CF_EINVAL;
    const char *env = getenv("COFFER_MASTER_KEY");
    char path[4200];

    memset(out, 0, sizeof(*out));
    if (env) {
        if (!cf_str_hex_decode(cf_str_c(env), out->master, sizeof(out->master))) {
            cf_error("COFFER_MASTER_KEY: expected 64 hex characters");
            goto out;
        }
        rc = CF_OK;
        goto out;
    }
    if (!data_dir || !*data_dir ||
        snprintf(path, sizeof(path), "%s/%s", data_dir, MASTER_FILE) >= (int)sizeof(path)) {
        cf_error("master key: bad data directory");
        goto out;
    }
    /* The first start may come before anything else made the data directory. */
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        cf_error("master key: cannot create %s: %s", data_dir, strerror(errno));
        rc = CF_EIO;
        goto out;
    }
    rc = read_key_file(path, out);
    if (rc == CF_ENOTFOUND)
        rc = create_key_file(data_dir, path, out);
out:
    if (rc != CF_OK)
        explicit_bzero(out, sizeof(*out));
    return rc;
}

/* ---- sealing ---- */

cf_rc cf_secret_seal(const cf_keyring *kr, cf_str cred_id, cf_str secret, cf_arena *a,
                     cf_str *sealed)
{
    cf_rc rc;
    size_t n = secret.len + CF_GCM_OVERHEAD;
    uint8_t *raw;
    char *b64;

    *sealed = CF_STR_NULL;
    if (secret.len > SECRET_MAX)
        return CF_ETOOBIG;
    raw = cf_arena_alloc(a, n);
    b64 = cf_arena_alloc(a, cf_b64_enclen(n) + 1);
    if (!raw || !b64)
        return CF_ENOMEM;
    /* The id as AAD: a sealed secret copied onto another credential does not open. */
    rc = cf_aead_seal(kr->master, cred_id.p, cred_id.len, secret.p, secret.len, raw);
    if (rc != CF_OK)
        return rc;
    *sealed = cf_str_make(b64, cf_b64_encode(raw, n, b64));
    return CF_OK;
}

cf_rc cf_secret_open(const cf_keyring *kr, cf_str cred_id, cf_str sealed, cf_arena *a,
                     cf_str *secret)
{
    size_t cap = sealed.len / 4 * 3, rawlen = 0, outlen = 0;
    uint8_t *raw;
    char *plain;

    *secret = CF_STR_NULL;
    if (sealed.len > cf_b64_enclen(SECRET_MAX + CF_GCM_OVERHEAD))
        return CF_EINVAL;
    raw = cf_arena_alloc(a, cap + 1);
    if (!raw)
        return CF_ENOMEM;
    if (!cf_b64_decode(sealed, raw, cap, &rawlen) || rawlen < CF_GCM_OVERHEAD)
        return CF_EINVAL;
    plain = cf_arena_alloc(a, rawlen - CF_GCM_OVERHEAD + 1);
    if (!plain)
        return CF_ENOMEM;
    if (!cf_aead_open(kr->master, cred_id.p, cred_id.len, raw, rawlen, (uint8_t *)plain, &outlen))
        return CF_EINVAL;
    plain[outlen] = '\0';
    *secret = cf_str_make(plain, outlen);
    return CF_OK;
}

/* ---- identifiers ---- */

/* len characters drawn uniformly from alphabet: bytes at or above the largest multiple of
 * the alphabet size are rejected, so no character is more likely than another. */
static cf_rc random_chars(const char *alphabet, char *out, size_t len)
{
    cf_rc rc = CF_OK;
    size_t n = strlen(alphabet), used, have = 0;
    unsigned limit = 256 - 256 % (unsigned)n;
    uint8_t pool[64];

    used = have;
    for (size_t i = 0; i < len;) {
        uint8_t b;
        if (used == have) {
            rc = cf_random(pool, sizeof(pool));
            if (rc != CF_OK)
                goto out;
            have = sizeof(pool);
            used = 0;
        }
        b = pool[used++];
        if (b >= limit)
            continue;
        out[i++] = alphabet[b % n];
    }
out:
    explicit_bzero(pool, sizeof(pool));
    return rc;
}

cf_rc cf_cred_new_access_key(char out[CF_ACCESS_KEY_LEN + 1])
{
    cf_rc rc;
    out[0] = 'C';
    out[1] = 'F';
    rc = random_chars(base32_chars, out + 2, CF_ACCESS_KEY_LEN - 2);
    out[rc == CF_OK ? CF_ACCESS_KEY_LEN : 0] = '\0';
    return rc;
}

cf_rc cf_cred_new_secret(char out[CF_SECRET_KEY_LEN + 1])
{
    cf_rc rc = random_chars(alnum_chars, out, CF_SECRET_KEY_LEN);
    out[rc == CF_OK ? CF_SECRET_KEY_LEN : 0] = '\0';
    return rc;
}

cf_rc cf_cred_new_token(char out[48])
{
    cf_rc rc;
    memcpy(out, "cft_", 4);
    rc = random_chars(alnum_chars, out + 4, 43);
    out[rc == CF_OK ? 47 : 0] = '\0';
    return rc;
}

void cf_cred_token_hash(cf_str token, char out[65])
{
    cf_sha256_hex(token.p, token.len, out);
}

/* ---- root credential ---- */

static bool valid_env_id(const char *s)
{
    size_t n = strlen(s);
    if (n < ENV_ID_MIN || n > ENV_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* Printable ASCII without spaces: secrets travel in headers and on command lines. */
static bool valid_env_secret(const char *s)
{
    size_t n = strlen(s);
    if (n < ENV_SECRET_MIN || n > ENV_SECRET_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* The table already has credentials: the env overrides are ignored, but say so when they
 * disagree with what is stored, so nobody believes a changed variable took effect. */
static cf_rc check_existing_root(cf_meta *m, const cf_keyring *kr, const char *env_id,
                                 const char *env_secret, const char *env_token)
{
    cf_rc rc = CF_OK;
    cf_arena *a = NULL;
    cf_cred c;

    memset(&c, 0, sizeof(c));
    if (!env_id) {
        if (env_secret || env_token)
            cf_warn("COFFER_ROOT_SECRET_ACCESS_KEY / COFFER_ROOT_TOKEN are ignored: the "
                    "credentials already exist");
        goto out;
    }
    a = cf_arena_new(0);
    if (!a) {
        rc = CF_ENOMEM;
        goto out;
    }
    rc = cf_cred_lookup(m, kr, cf_str_c(env_id), a, &c);
    if (rc == CF_ENOTFOUND || (rc == CF_OK && c.row.parent_id.len != 0)) {
        cf_warn("COFFER_ROOT_ACCESS_KEY_ID %s does not name the existing root credential; "
                "it is ignored and the root credential is unchanged",
                env_id);
        rc = CF_OK;
        goto out;
    }
    if (rc != CF_OK)
        goto out;
    if (env_secret && !cf_ct_eq(env_secret, strlen(env_secret), c.secret.p, c.secret.len))
        cf_warn("COFFER_ROOT_SECRET_ACCESS_KEY differs from the stored secret of %s; it is "
                "ignored",
                env_id);
    if (env_token) {
        char h[65];
        cf_cred_token_hash(cf_str_c(env_token), h);
        if (!cf_ct_eq(h, 64, c.row.token_hash.p, c.row.token_hash.len))
            cf_warn("COFFER_ROOT_TOKEN differs from the stored token of %s; it is ignored", env_id);
    }
out:
    if (c.secret.p)
        explicit_bzero((void *)(uintptr_t)c.secret.p, c.secret.len);
    cf_arena_destroy(a);
    return rc;
}

cf_rc cf_cred_bootstrap_root(cf_meta *m, const cf_keyring *kr, int64_t now_ms, cf_root_info *out)
{
    cf_rc rc = CF_EINVAL;
    cf_arena *a = NULL;
    const char *env_id = getenv("COFFER_ROOT_ACCESS_KEY_ID");
    const char *env_secret = getenv("COFFER_ROOT_SECRET_ACCESS_KEY");
    const char *env_token = getenv("COFFER_ROOT_TOKEN");
    uint64_t count = 0;
    cf_cred_row row;
    char token_hash[65];

    memset(out, 0, sizeof(*out));
    /* A malformed override is a mistake whether or not it would be used. */
    if (env_id && !valid_env_id(env_id)) {
        cf_error("COFFER_ROOT_ACCESS_KEY_ID: expected 3..128 characters of [A-Za-z0-9_.-]");
        goto out;
    }
    if (env_secret && !valid_env_secret(env_secret)) {
        cf_error("COFFER_ROOT_SECRET_ACCESS_KEY: expected 8..128 printable ASCII characters "
                 "without spaces");
        goto out;
    }
    if (env_token && !valid_env_secret(env_token)) {
        cf_error("COFFER_ROOT_TOKEN: expected 8..128 printable ASCII characters without spaces");
        goto out;
    }

    rc = cf_meta_call(m, cred_count, &count);
    if (rc != CF_OK)
        goto out;
    if (count > 0) {
        rc = check_existing_root(m, kr, env_id, env_secret, env_token);
        goto out;
    }

    if (env_id)
        snprintf(out->access_key, sizeof(out->access_key), "%s", env_id);
    else if ((rc = cf_cred_new_access_key(out->access_key)) != CF_OK)
        goto out;
    if (env_secret)
        snprintf(out->secret, sizeof(out->secret), "%s", env_secret);
    else if ((rc = cf_cred_new_secret(out->secret)) != CF_OK)
        goto out;
    if (env_token)
        snprintf(out->token, sizeof(out->token), "%s", env_token);
    else if ((rc = cf_cred_new_token(out->token)) != CF_OK)
        goto out;

    a = cf_arena_new(0);
    if (!a) {
        rc = CF_ENOMEM;
        goto out;
    }
    memset(&row, 0, sizeof(row));
    row.id = cf_str_c(out->access_key);
    row.name = CF_STR("root");
    row.parent_id = CF_STR("");
    row.policy = CF_STR(root_policy);
    row.status = CF_CRED_ACTIVE;
    row.created_ms = now_ms;
    row.allowed_ips = CF_STR("");
    row.old_secret_sealed = CF_STR("");
    row.version = 1;
    rc = cf_secret_seal(kr, row.id, cf_str_c(out->secret), a, &row.secret_sealed);
    if (rc != CF_OK)
        goto out;
    cf_cred_token_hash(cf_str_c(out->token), token_hash);
    row.token_hash = cf_str_c(token_hash);
    rc = cf_meta_call(m, cred_insert, &row);
    if (rc != CF_OK) {
        cf_error("root credential: cannot store it: %s", cf_rc_str(rc));
        goto out;
    }
    out->created = true;
    cf_info("root credential %s created", out->access_key);
out:
    if (rc != CF_OK)
        explicit_bzero(out, sizeof(*out));
    cf_arena_destroy(a);
    return rc;
}

/* ---- lookup ---- */

cf_rc cf_cred_lookup(cf_meta *m, const cf_keyring *kr, cf_str access_key, cf_arena *a, cf_cred *out)
{
    cf_cred_row row;
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    rc = cf_meta_call(m, cred_get, access_key, a, &row);
    if (rc != CF_OK)
        return rc;
    return cf_cred_open_row(kr, &row, a, out);
}

cf_rc cf_cred_open_row(const cf_keyring *kr, const cf_cred_row *row, cf_arena *a, cf_cred *out)
{
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    out->row = *row;
    rc = cf_secret_open(kr, out->row.id, out->row.secret_sealed, a, &out->secret);
    if (rc == CF_OK && out->row.old_secret_sealed.len)
        rc = cf_secret_open(kr, out->row.id, out->row.old_secret_sealed, a, &out->old_secret);
    if (rc == CF_EINVAL) {
        /* Not the client's fault: the store and the master key disagree. */
        cf_error("credential %.*s: a sealed secret does not open; was the master key changed?",
                 CF_STR_FMT(out->row.id));
        rc = CF_EIO;
    }
    return rc;
}
