#include "s3/formdata.h"

#include <string.h>

/* Reader states. Bodies (preamble, field values, the file) are scanned for the delimiter
 * "\r\n--boundary"; the few bytes between a delimiter and the part headers go one by one. */
enum state {
    ST_BODY,      /* scanning for the delimiter; bytes go to the sink */
    ST_DELIM_END, /* just after a delimiter: "--", padding or CRLF */
    ST_CLOSE,     /* saw "-" after a delimiter */
    ST_PAD,       /* transport padding (SP / HTAB) before the CRLF */
    ST_LF,        /* saw CR after a delimiter */
    ST_HEADERS,   /* part header lines */
    ST_EPILOGUE,  /* after the close delimiter, before any file: ignored */
    ST_IGNORE,    /* after the file: ignored */
};

enum sink { SINK_NONE, SINK_FIELD, SINK_FILE };

#define MAX_PAD 256

struct cf_form {
    cf_arena *arena;
    const cf_form_cb *cb;
    void *ctx;
    cf_s3err err; /* sticky */

    char delim[4 + CF_FORM_BOUNDARY_MAX]; /* "\r\n--" boundary */
    size_t dlen;
    uint8_t fail[4 + CF_FORM_BOUNDARY_MAX + 1]; /* KMP: longest proper border of delim[0..k) */
    size_t m;                                   /* delimiter bytes matched (held back) */

    enum state st;
    enum sink sink;
    size_t pad;
    uint64_t predata;
    bool file_started, file_done;

    /* The part being read. */
    char line[CF_FORM_HEADER_LINE_MAX];
    size_t linelen;
    size_t nheaders;
    cf_str disposition, ctype;
    cf_str name;
    char *value; /* CF_FORM_FIELD_MAX bytes, taken at the first field */
    size_t vlen;

    cf_kv *fields;
    size_t nfields, capfields;
    cf_str filename, file_type;
    uint64_t file_size;
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static cf_str skip_ows(cf_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s = cf_str_sub(s, 1, s.len - 1);
    return s;
}

/* Looks up parameter pname in a header value "type; a=b; c=\"d\"". 1 found (*out a slice
 * of v, or arena memory once unescaped), 0 absent, -1 malformed. *type gets the leading
 * token. Inside quoted strings only \" and \\ are escapes: browsers send other backslashes
 * (Windows paths) as they are, and percent-encode quotes. */
static int header_param(cf_arena *a, cf_str v, const char *pname, cf_str *type, cf_str *out)
{
    size_t i = 0;
    int found = 0;
    v = skip_ows(v);
    while (i < v.len && v.p[i] != ';')
        i++;
    *type = cf_str_trim(cf_str_sub(v, 0, i));
    while (i < v.len) {
        /* at ';' */
        i++;
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (i == v.len)
            break; /* a trailing ';' */
        size_t ns = i;
        while (i < v.len && is_tchar(v.p[i]))
            i++;
        cf_str pn = cf_str_sub(v, ns, i - ns);
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (pn.len == 0 || i == v.len || v.p[i] != '=')
            return -1;
        i++;
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        cf_str val;
        bool want = !found && cf_str_ieq_c(pn, pname);
        if (i < v.len && v.p[i] == '"') {
            size_t qs = ++i;
            while (i < v.len && v.p[i] != '"')
                i += v.p[i] == '\\' && i + 1 < v.len ? 2 : 1;
            if (i >= v.len)
                return -1; /* unterminated */
            val = cf_str_sub(v, qs, i - qs);
            i++;
            /* Unescape only the parameter asked for: nothing else costs memory. */
            if (want && cf_str_find(val, '\\') >= 0) {
                char *buf = cf_arena_alloc(a, val.len);
                size_t bl = 0;
                if (buf == NULL)
                    return -1;
                for (size_t k = 0; k < val.len; k++) {
                    char c = val.p[k];
                    if (c == '\\' && k + 1 < val.len &&
                        (val.p[k + 1] == '"' || val.p[k + 1] == '\\'))
                        c = val.p[++k];
                    buf[bl++] = c;
                }
                val = cf_str_make(buf, bl);
            }
        } else {
            size_t vs = i;
            while (i < v.len && v.p[i] != ';' && v.p[i] != ' ' && v.p[i] != '\t')
                i++;
            val = cf_str_sub(v, vs, i - vs);
        }
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (i < v.len && v.p[i] != ';')
            return -1;
        if (want) {
            *out = val;
            found = 1;
        }
    }
    return found;
}

cf_s3err cf_form_boundary(cf_arena *a, cf_str content_type, cf_str *boundary)
{
    cf_str type, b = CF_STR_NULL;
    int r = header_param(a, content_type, "boundary", &type, &b);
    if (!cf_str_ieq_c(type, "multipart/form-data"))
        return CF_S3_PreconditionFailed;
    if (r != 1 || b.len == 0 || b.len > CF_FORM_BOUNDARY_MAX)
        return CF_S3_MalformedPOSTRequest;
    for (size_t i = 0; i < b.len; i++)
        if (b.p[i] == '\r' || b.p[i] == '\n' || b.p[i] == 0)
            return CF_S3_MalformedPOSTRequest;
    *boundary = b;
    return CF_S3_OK;
}

cf_form *cf_form_new(cf_arena *a, cf_str boundary, const cf_form_cb *cb, void *ctx)
{
    if (boundary.len == 0 || boundary.len > CF_FORM_BOUNDARY_MAX)
        return NULL;
    cf_form *f = cf_arena_alloc(a, sizeof *f);
    if (f == NULL)
        return NULL;
    f->arena = a;
    f->cb = cb;
    f->ctx = ctx;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, boundary.p, boundary.len);
    f->dlen = 4 + boundary.len;
    /* KMP failure function. */
    f->fail[0] = f->fail[1] = 0;
    for (size_t k = 2, b = 0; k <= f->dlen; k++) {
        while (b > 0 && f->delim[k - 1] != f->delim[b])
            b = f->fail[b];
        if (f->delim[k - 1] == f->delim[b])
            b++;
        f->fail[k] = (uint8_t)b;
    }
    /* The first delimiter may open the body without a CRLF before it: start as if one had
     * been seen. */
    f->st = ST_BODY;
    f->sink = SINK_NONE;
    f->m = 2;
    return f;
}

/* ---- sinks ---- */

static void emit(cf_form *f, const char *p, size_t n)
{
    if (n == 0 || f->err != CF_S3_OK)
        return;
    switch (f->sink) {
    case SINK_NONE:
        break;
    case SINK_FIELD:
        if (n > CF_FORM_FIELD_MAX - f->vlen) {
            f->err = CF_S3_MaxPostPreDataLengthExceededError;
            return;
        }
        memcpy(f->value + f->vlen, p, n);
        f->vlen += n;
        break;
    case SINK_FILE:
        f->file_size += n;
        f->err = f->cb->file_data(f->ctx, p, n);
        break;
    }
}

/* The delimiter after a part's body was seen. */
static void end_part(cf_form *f)
{
    switch (f->sink) {
    case SINK_NONE:
        f->st = ST_DELIM_END;
        break;
    case SINK_FIELD: {
        if (f->nfields == f->capfields) {
            size_t cap = f->capfields ? 2 * f->capfields : 16;
            cf_kv *nf = cf_arena_alloc(f->arena, cap * sizeof *nf);
            if (nf == NULL) {
                f->err = CF_S3_InternalError;
                return;
            }
            if (f->nfields)
                memcpy(nf, f->fields, f->nfields * sizeof *nf);
            f->fields = nf;
            f->capfields = cap;
        }
        cf_str v = cf_arena_str(f->arena, cf_str_make(f->value, f->vlen));
        if (v.p == NULL) {
            f->err = CF_S3_InternalError;
            return;
        }
        f->fields[f->nfields].name = f->name;
        f->fields[f->nfields].value = v;
        f->nfields++;
        f->st = ST_DELIM_END;
        break;
    }
    case SINK_FILE:
        f->file_done = true;
        f->st = ST_IGNORE;
        f->err = f->cb->file_end(f->ctx);
        break;
    }
    f->sink = SINK_NONE;
}

/* Scans body bytes for the delimiter; returns the bytes consumed (up to and including the
 * delimiter's last byte when found). Bytes that may start the delimiter are held back as
 * f->m, and given to the sink from f->delim itself when they turn out not to be. */
static size_t scan(cf_form *f, const char *p, size_t n)
{
    const char *d = f->delim;
    size_t i = 0, run = 0; /* p[run..i) is sink data not yet emitted */
    while (i < n && f->err == CF_S3_OK) {
        if (f->m == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            if (cr == NULL) {
                i = n;
                break;
            }
            i = (size_t)(cr - p);
            emit(f, p + run, i - run);
            f->m = 1;
            run = ++i;
            continue;
        }
        char c = p[i];
        if (c == d[f->m]) {
            f->m++;
            run = ++i;
            if (f->m == f->dlen) {
                f->m = 0;
                end_part(f);
                return i;
            }
            continue;
        }
        /* Mismatch: keep the longest prefix of the delimiter that ends here. Of the held
         * bytes plus c, the first held+1-m are data. */
        size_t held = f->m, m = f->m;
        while (m > 0 && d[m] != c)
            m = f->fail[m];
        if (d[m] == c)
            m++;
        f->m = m;
        if (m > 0) {
            emit(f, d, held + 1 - m);
            run = ++i;
        } else {
            emit(f, d, held);
            run = i++; /* c itself is data */
        }
    }
    emit(f, p + run, i - run);
    return i;
}

/* ---- part headers ---- */

static bool part_begin(cf_form *f)
{
    cf_str type, name = CF_STR_NULL, filename = CF_STR_NULL;
    if (f->disposition.p == NULL)
        return false;
    if (header_param(f->arena, f->disposition, "name", &type, &name) != 1 ||
        !cf_str_ieq_c(type, "form-data") || name.len == 0)
        return false;
    if (header_param(f->arena, f->disposition, "filename", &type, &filename) < 0)
        return false;
    if (cf_str_ieq_c(name, "file")) {
        f->file_started = true;
        f->filename = filename.p != NULL ? filename : CF_STR("");
        f->file_type = f->ctype.p != NULL ? f->ctype : CF_STR("");
        f->sink = SINK_FILE;
        f->st = ST_BODY;
        f->err = f->cb->file_begin(f->ctx, f);
        return true;
    }
    if (f->nfields >= CF_FORM_MAX_FIELDS) {
        f->err = CF_S3_MaxPostPreDataLengthExceededError;
        return true;
    }
    if (f->value == NULL) {
        f->value = cf_arena_alloc(f->arena, CF_FORM_FIELD_MAX);
        if (f->value == NULL) {
            f->err = CF_S3_InternalError;
            return true;
        }
    }
    f->name = name;
    f->vlen = 0;
    f->sink = SINK_FIELD;
    f->st = ST_BODY;
    return true;
}

/* One complete header line (CRLF stripped); false if malformed. */
static bool header_line(cf_form *f, cf_str line)
{
    cf_str name, value;
    if (line.len == 0)
        return part_begin(f);
    if (++f->nheaders > CF_FORM_MAX_PART_HEADERS)
        return false;
    /* No obsolete line folding (RFC 7578 4.8), and a token before the colon. */
    if (!cf_str_cut(line, ':', &name, &value) || name.len == 0)
        return false;
    for (size_t i = 0; i < name.len; i++)
        if (!is_tchar(name.p[i]))
            return false;
    value = cf_str_trim(value);
    if (cf_str_ieq_c(name, "content-disposition") || cf_str_ieq_c(name, "content-type")) {
        cf_str v = cf_arena_str(f->arena, value);
        if (v.p == NULL)
            return false;
        if (cf_str_ieq_c(name, "content-type"))
            f->ctype = v;
        else if (f->disposition.p == NULL)
            f->disposition = v;
        else
            return false; /* two dispositions: which name is it? */
    }
    return true;
}

static size_t headers(cf_form *f, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (f->linelen == sizeof f->line) {
                f->err = CF_S3_MalformedPOSTRequest;
                return i;
            }
            f->line[f->linelen++] = p[i];
            continue;
        }
        cf_str line = cf_str_make(f->line, f->linelen);
        if (line.len > 0 && line.p[line.len - 1] == '\r')
            line.len--;
        f->linelen = 0;
        if (!header_line(f, line) && f->err == CF_S3_OK)
            f->err = CF_S3_MalformedPOSTRequest;
        if (f->st != ST_HEADERS || f->err != CF_S3_OK)
            return i + 1;
    }
    return n;
}

static void start_headers(cf_form *f)
{
    f->st = ST_HEADERS;
    f->linelen = 0;
    f->nheaders = 0;
    f->disposition = f->ctype = CF_STR_NULL;
}

/* The bytes between a delimiter and the part headers (or the end). */
static void delim_end(cf_form *f, char c)
{
    switch (f->st) {
    case ST_DELIM_END:
        if (c == '-')
            f->st = ST_CLOSE;
        else if (c == ' ' || c == '\t') {
            f->st = ST_PAD;
            f->pad = 1;
        } else if (c == '\r')
            f->st = ST_LF;
        else if (c == '\n')
            start_headers(f);
        else
            f->err = CF_S3_MalformedPOSTRequest;
        break;
    case ST_CLOSE:
        if (c == '-')
            f->st = ST_EPILOGUE;
        else
            f->err = CF_S3_MalformedPOSTRequest;
        break;
    case ST_PAD:
        if ((c == ' ' || c == '\t') && ++f->pad <= MAX_PAD)
            break;
        if (c == '\r')
            f->st = ST_LF;
        else if (c == '\n')
            start_headers(f);
        else
            f->err = CF_S3_MalformedPOSTRequest;
        break;
    case ST_LF:
        if (c == '\n')
            start_headers(f);
        else
            f->err = CF_S3_MalformedPOSTRequest;
        break;
    default:
        f->err = CF_S3_InternalError;
        break;
    }
}

cf_s3err cf_form_feed(cf_form *f, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && f->err == CF_S3_OK) {
        bool pre = !f->file_started;
        size_t k;
        switch (f->st) {
        case ST_BODY:
            k = scan(f, p + i, n - i);
            break;
        case ST_HEADERS:
            k = headers(f, p + i, n - i);
            break;
        case ST_EPILOGUE:
        case ST_IGNORE:
            k = n - i;
            break;
        default:
            delim_end(f, p[i]);
            k = 1;
            break;
        }
        /* Everything before the file counts, the preamble and part headers included. */
        if (pre) {
            f->predata += k;
            if (f->predata > CF_FORM_PREDATA_MAX && f->err == CF_S3_OK)
                f->err = CF_S3_MaxPostPreDataLengthExceededError;
        }
        i += k;
    }
    return f->err;
}

cf_s3err cf_form_finish(cf_form *f)
{
    if (f->err != CF_S3_OK)
        return f->err;
    if (f->file_done)
        return CF_S3_OK;
    if (f->st == ST_EPILOGUE)
        return CF_S3_IncorrectNumberOfFilesInPostRequest;
    return CF_S3_MalformedPOSTRequest;
}

const cf_kv *cf_form_fields(const cf_form *f, size_t *n)
{
    *n = f->nfields;
    return f->fields;
}

cf_str cf_form_field(const cf_form *f, const char *name)
{
    for (size_t i = 0; i < f->nfields; i++)
        if (cf_str_ieq_c(f->fields[i].name, name))
            return f->fields[i].value;
    return CF_STR_NULL;
}

cf_str cf_form_filename(const cf_form *f)
{
    return f->filename;
}

cf_str cf_form_file_type(const cf_form *f)
{
    return f->file_type;
}

uint64_t cf_form_file_size(const cf_form *f)
{
    return f->file_size;
}
