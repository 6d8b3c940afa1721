/* multipart/form-data (S3 POST Object). Input: the Content-Type value, a line feed, a split
 * byte (the largest slice when feeding in pieces; 0: one piece), then the body.
 * Properties: reading in pieces gives exactly what reading in one piece gives (results,
 * fields, file bytes, callback order); file_end follows file_begin once, file bytes only
 * come between them; cf_form_file_size counts what file_data got; fields before the file
 * respect the documented limits. */
#include "fuzz.h"

#include "core/arena.h"
#include "s3/formdata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

typedef struct result {
    cf_s3err feed, finish;
    int begins, ends;
    uint64_t bytes;
    uint32_t h;      /* FNV-1a over the file bytes */
    uint32_t fields; /* over the fields and file name/type seen at file_begin */
    size_t nfields;
} result;

static uint32_t fnv(uint32_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static cf_s3err on_begin(void *ctx, cf_form *f)
{
    result *r = ctx;
    const cf_kv *kv = cf_form_fields(f, &r->nfields);
    FUZZ_CHECK(r->begins == 0 && r->ends == 0 && r->bytes == 0);
    FUZZ_CHECK(r->nfields <= CF_FORM_MAX_FIELDS);
    r->begins++;
    for (size_t i = 0; i < r->nfields; i++) {
        FUZZ_CHECK(kv[i].value.len <= CF_FORM_FIELD_MAX);
        r->fields =
            fnv(fnv(r->fields, kv[i].name.p, kv[i].name.len), kv[i].value.p, kv[i].value.len);
    }
    cf_str fn = cf_form_filename(f), ft = cf_form_file_type(f);
    r->fields = fnv(fnv(r->fields, fn.p, fn.len), ft.p, ft.len);
    (void)cf_form_field(f, "key");
    (void)cf_form_field(f, "Policy");
    return CF_S3_OK;
}

static cf_s3err on_data(void *ctx, const char *p, size_t n)
{
    result *r = ctx;
    FUZZ_CHECK(r->begins == 1 && r->ends == 0 && n > 0);
    for (size_t i = 0; i < n; i++) /* no separator: slices must not show */
        r->h = (r->h ^ (uint8_t)p[i]) * 16777619u;
    r->bytes += n;
    return CF_S3_OK;
}

static cf_s3err on_end(void *ctx)
{
    result *r = ctx;
    FUZZ_CHECK(r->begins == 1 && r->ends == 0);
    r->ends++;
    return CF_S3_OK;
}

static const cf_form_cb cbs = {on_begin, on_data, on_end};

static void parse(cf_str boundary, const char *body, size_t len, size_t maxsplit, uint32_t seed,
                  result *r)
{
    cf_arena *a = cf_arena_new(0);
    cf_form *f;
    size_t i = 0;
    memset(r, 0, sizeof(*r));
    r->h = r->fields = 2166136261u;
    FUZZ_CHECK(a != NULL);
    f = cf_form_new(a, boundary, &cbs, r);
    FUZZ_CHECK(f != NULL);
    while (i < len && r->feed == CF_S3_OK) {
        size_t n = maxsplit ? fuzz_next_split(&seed, maxsplit) : len;
        if (n > len - i)
            n = len - i;
        r->feed = cf_form_feed(f, body + i, n);
        i += n;
    }
    r->finish = cf_form_finish(f);
    FUZZ_CHECK(cf_form_file_size(f) == r->bytes);
    if (r->feed == CF_S3_OK && r->finish == CF_S3_OK)
        FUZZ_CHECK(r->begins == 1 && r->ends == 1);
    cf_arena_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str ctype = fuzz_line(&in), boundary, body;
    uint8_t split = fuzz_byte(&in);
    cf_arena *a = cf_arena_new(0);
    result whole, pieces;

    FUZZ_CHECK(a != NULL);
    body = fuzz_rest(&in);
    if (cf_form_boundary(a, ctype, &boundary) != CF_S3_OK)
        goto out;
    FUZZ_CHECK(boundary.len >= 1 && boundary.len <= CF_FORM_BOUNDARY_MAX);
    parse(boundary, body.p, body.len, 0, 0, &whole);
    if (split) {
        parse(boundary, body.p, body.len, split, split, &pieces);
        FUZZ_CHECK(whole.feed == pieces.feed && whole.finish == pieces.finish);
        FUZZ_CHECK(whole.begins == pieces.begins && whole.ends == pieces.ends);
        FUZZ_CHECK(whole.bytes == pieces.bytes && whole.h == pieces.h);
        FUZZ_CHECK(whole.fields == pieces.fields && whole.nfields == pieces.nfields);
    }
out:
    cf_arena_destroy(a);
    return 0;
}
