/* What the user sees: one-line errors, aligned tables, pretty JSON, shell-quoted variables. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Length of the UTF-8 sequence starting at p (at most n bytes), 0 if it is not a valid one
 * or encodes a C1 control (U+0080..U+009F, which terminals also obey). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return len;
}

char *cf_cli_sanitize(const char *s)
{
    size_t n = strlen(s), o = 0;
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(p + i, n - i);
        if (len == 0 || (len == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, p + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    return out;
}

size_t cf_cli_display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            w++;
    return w;
}

/* Writes s sanitized; falls back to '?' for all of it if memory is short. */
static void put_clean(FILE *f, const char *s)
{
    char *clean = cf_cli_sanitize(s);
    fputs(clean ? clean : "?", f);
    free(clean);
}

void cf_cli_error(cf_cli *c, const char *message, const char *field)
{
    fputs("coffer: ", c->err);
    put_clean(c->err, message);
    if (field && field[0]) {
        fputs(" (", c->err);
        put_clean(c->err, field);
        fputc(')', c->err);
    }
    fputc('\n', c->err);
}

int cf_cli_usage(cf_cli *c, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cf_cli_error(c, msg, field);
    return CF_CLI_EXIT_USAGE;
}

void cf_cli_warn(cf_cli *c, const char *message)
{
    fputs("coffer: warning: ", c->err);
    put_clean(c->err, message);
    fputc('\n', c->err);
}

static bool shell_safe(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("@%+=:,./_-", ch) != NULL);
}

cf_rc cf_cli_shell_quote(cf_buf *b, const char *s)
{
    bool safe = s[0] != '\0';
    cf_rc rc = CF_OK;
    for (const char *p = s; *p && safe; p++)
        safe = shell_safe((unsigned char)*p);
    if (safe)
        return cf_buf_append_c(b, s);
    /* Inside single quotes nothing is special but the quote itself. */
    rc = cf_buf_append_ch(b, '\'');
    for (const char *p = s; *p && rc == CF_OK; p++)
        rc = *p == '\'' ? cf_buf_append_c(b, "'\"'\"'") : cf_buf_append_ch(b, *p);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(b, '\'');
    return rc;
}

void cf_cli_print_env(cf_cli *c, const char *name, const char *value)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 20);
    if (cf_buf_append_c(&b, name) == CF_OK && cf_buf_append_ch(&b, '=') == CF_OK &&
        cf_cli_shell_quote(&b, value) == CF_OK && cf_buf_append_ch(&b, '\n') == CF_OK)
        fwrite(b.p, 1, b.len, c->out);
    else
        cf_cli_error(c, "out of memory", name);
    cf_buf_free(&b);
}

void cf_cli_print_json(cf_cli *c, const json_t *j)
{
    if (json_dumpf(j, c->out, JSON_INDENT(2) | JSON_ENCODE_ANY) == 0)
        fputc('\n', c->out);
}

/* ---- tables ---- */

void cf_cli_table_init(cf_cli_table *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

void cf_cli_table_free(cf_cli_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

static void add_owned(cf_cli_table *t, char *cell)
{
    if (!cell) {
        t->failed = true;
        return;
    }
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char **np = realloc(t->cells, cap * sizeof(*np));
        if (!np) {
            free(cell);
            t->failed = true;
            return;
        }
        t->cells = np;
        t->cap = cap;
    }
    t->cells[t->ncells++] = cell;
}

void cf_cli_table_cell(cf_cli_table *t, const char *s)
{
    add_owned(t, cf_cli_sanitize(s ? s : "-"));
}

void cf_cli_table_json(cf_cli_table *t, const json_t *v, const char *if_none)
{
    char num[32];
    if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0)) {
        cf_cli_table_cell(t, if_none);
    } else if (json_is_string(v)) {
        cf_cli_table_cell(t, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        cf_cli_table_cell(t, num);
    } else if (json_is_true(v) || json_is_false(v)) {
        cf_cli_table_cell(t, json_is_true(v) ? "true" : "false");
    } else if (json_is_array(v)) {
        cf_buf b;
        size_t i;
        const json_t *e;
        bool ok = true;
        cf_buf_init(&b, CF_CLI_MAX_RESPONSE);
        for (i = 0; i < json_array_size(v); i++) {
            e = json_array_get(v, i);
            char *s = json_is_string(e) ? NULL : json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            ok = ok && (i == 0 || cf_buf_append_c(&b, ", ") == CF_OK) &&
                 cf_buf_append_c(&b, json_is_string(e) ? json_string_value(e)
                                     : s               ? s
                                                       : "?") == CF_OK;
            free(s);
        }
        if (ok)
            cf_cli_table_cell(t, b.p ? b.p : "");
        else
            t->failed = true;
        cf_buf_free(&b);
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s)
            cf_cli_table_cell(t, s);
        else
            t->failed = true;
        free(s);
    }
}

void cf_cli_table_print(const cf_cli_table *t, FILE *out)
{
    size_t *w;
    if (t->failed) {
        fputs("coffer: out of memory while formatting\n", out);
        return;
    }
    if (t->ncols == 0 || t->ncells == 0)
        return;
    w = calloc(t->ncols, sizeof(*w));
    if (!w) {
        fputs("coffer: out of memory while formatting\n", out);
        return;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t cw = cf_cli_display_width(t->cells[i]);
        if (cw > w[i % t->ncols])
            w[i % t->ncols] = cw;
    }
    for (size_t base = 0; base < t->ncells; base += t->ncols) {
        size_t stop = base + t->ncols < t->ncells ? base + t->ncols : t->ncells;
        /* Empty trailing cells are not padded to: lines never end in spaces. */
        while (stop > base + 1 && t->cells[stop - 1][0] == '\0')
            stop--;
        for (size_t i = base; i < stop; i++) {
            fputs(t->cells[i], out);
            if (i + 1 == stop)
                break;
            for (size_t k = cf_cli_display_width(t->cells[i]); k < w[i - base] + 2; k++)
                fputc(' ', out);
        }
        fputc('\n', out);
    }
    free(w);
}
