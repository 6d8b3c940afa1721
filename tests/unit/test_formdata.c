/* The multipart/form-data reader: fields, the streamed file, every split of the input
 * (down to one byte at a time), delimiter look-alikes in the data, limits and malformed
 * forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "s3/formdata.h"

typedef struct sink {
    cf_buf file;
    int begins, ends;
    size_t nfields_at_begin;
    cf_s3err fail_begin; /* returned by file_begin */
    cf_s3err fail_data;
    cf_str filename;
} sink;

static cf_s3err on_begin(void *ctx, cf_form *f)
{
    sink *s = ctx;
    s->begins++;
    cf_form_fields(f, &s->nfields_at_begin);
    s->filename = cf_form_filename(f);
    return s->fail_begin;
}

static cf_s3err on_data(void *ctx, const char *p, size_t n)
{
    sink *s = ctx;
    assert_true(n > 0);
    if (cf_buf_append(&s->file, p, n) != CF_OK)
        return CF_S3_InternalError;
    return s->fail_data;
}

static cf_s3err on_end(void *ctx)
{
    sink *s = ctx;
    s->ends++;
    return CF_S3_OK;
}

static const cf_form_cb cbs = {on_begin, on_data, on_end};

typedef struct run {
    cf_arena *a;
    cf_form *f;
    sink s;
    cf_s3err feed, finish;
} run;

/* Feeds body in pieces of step bytes (0: all at once). */
static void run_form(run *r, const char *boundary, const char *body, size_t len, size_t step)
{
    memset(r, 0, sizeof *r);
    r->a = cf_arena_new(0);
    assert_non_null(r->a);
    cf_buf_init(&r->s.file, 64u << 20);
    r->f = cf_form_new(r->a, cf_str_c(boundary), &cbs, &r->s);
    assert_non_null(r->f);
    if (step == 0)
        step = len ? len : 1;
    for (size_t i = 0; i < len && r->feed == CF_S3_OK; i += step) {
        size_t n = len - i < step ? len - i : step;
        r->feed = cf_form_feed(r->f, body + i, n);
    }
    r->finish = cf_form_finish(r->f);
}

static void run_free(run *r)
{
    cf_buf_free(&r->s.file);
    cf_arena_destroy(r->a);
}

static void build(cf_buf *b, const char *boundary, const char *const *fields, const char *file,
                  size_t filelen, const char *trailer)
{
    cf_buf_init(b, 256u << 20);
    for (size_t i = 0; fields && fields[i]; i += 2)
        assert_int_equal(cf_buf_printf(b,
                                       "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                                       "%s\r\n",
                                       boundary, fields[i], fields[i + 1]),
                         CF_OK);
    if (file) {
        assert_int_equal(cf_buf_printf(b,
                                       "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                                       "filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n",
                                       boundary),
                         CF_OK);
        assert_int_equal(cf_buf_append(b, file, filelen), CF_OK);
        assert_int_equal(cf_buf_printf(b, "\r\n--%s", boundary), CF_OK);
        assert_int_equal(cf_buf_append_c(b, trailer ? trailer : "--\r\n"), CF_OK);
    } else {
        assert_int_equal(cf_buf_printf(b, "--%s--\r\n", boundary), CF_OK);
    }
}

static const char *const basic_fields[] = {
    "key", "user/eric/${filename}", "Policy", "eyJ4IjogMX0=", "x-amz-meta-empty", "", NULL,
};

static void check_basic(run *r, const char *file, size_t filelen)
{
    size_t n;
    const cf_kv *fs = cf_form_fields(r->f, &n);
    assert_int_equal(r->feed, CF_S3_OK);
    assert_int_equal(r->finish, CF_S3_OK);
    assert_int_equal(n, 3);
    assert_true(cf_str_eq_c(fs[0].name, "key"));
    assert_true(cf_str_eq_c(fs[0].value, "user/eric/${filename}"));
    assert_true(cf_str_eq_c(fs[1].name, "Policy"));
    assert_true(cf_str_eq_c(fs[2].value, ""));
    assert_true(cf_str_eq_c(cf_form_field(r->f, "POLICY"), "eyJ4IjogMX0="));
    assert_null(cf_form_field(r->f, "nope").p);
    assert_true(cf_str_eq_c(cf_form_filename(r->f), "photo.jpg"));
    assert_true(cf_str_eq_c(cf_form_file_type(r->f), "image/jpeg"));
    assert_int_equal(r->s.begins, 1);
    assert_int_equal(r->s.ends, 1);
    assert_int_equal(r->s.nfields_at_begin, 3);
    assert_int_equal(r->s.file.len, filelen);
    assert_int_equal(cf_form_file_size(r->f), filelen);
    if (filelen)
        assert_memory_equal(r->s.file.p, file, filelen);
}

static void test_basic_every_split(void **state)
{
    (void)state;
    static const char file[] = "hello\r\nworld\r\n--not the boundary\r\n";
    cf_buf b;
    build(&b, "XyZzY", basic_fields, file, sizeof file - 1, NULL);
    for (size_t step = 0; step <= b.len; step++) {
        run r;
        run_form(&r, "XyZzY", b.p, b.len, step);
        check_basic(&r, file, sizeof file - 1);
        run_free(&r);
    }
    cf_buf_free(&b);
}

/* Data full of delimiter prefixes, with boundaries that overlap themselves. */
static void test_lookalikes(void **state)
{
    (void)state;
    static const char *const boundaries[] = {"abc", "-", "--", "a-a", "\r-", "XyZzY", "aaaa"};
    static const char *const files[] = {
        "",
        "\r",
        "\r\n",
        "\r\n-",
        "\r\n--",
        "\r\r\n\r\n-\r\n--\r\n--a",
        "\r\n--ab\r\n--abd",
        "---\r\n---\r\n-a-\r\n--a-",
        "\r\n--aaa\r\n--aaab",
        "\r\n--XyZz\r\n--XyZzy\r\n--XyZzYY",
        "ends with cr\r",
    };
    for (size_t bi = 0; bi < sizeof boundaries / sizeof boundaries[0]; bi++) {
        const char *bd = boundaries[bi];
        char delim[80];
        snprintf(delim, sizeof delim, "\r\n--%s", bd);
        for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
            const char *file = files[fi];
            size_t fl = strlen(file);
            cf_buf b;
            build(&b, bd, basic_fields, file, fl, NULL);
            /* Only data where the real delimiter is the first occurrence is a valid form. */
            char *hay = malloc(fl + strlen(delim) + 1);
            assert_non_null(hay);
            memcpy(hay, file, fl);
            memcpy(hay + fl, delim, strlen(delim) + 1);
            const char *first = strstr(hay, delim);
            bool valid = first == hay + fl;
            free(hay);
            if (!valid) {
                cf_buf_free(&b);
                continue;
            }
            for (size_t step = 0; step <= 5; step++) {
                run r;
                run_form(&r, bd, b.p, b.len, step);
                check_basic(&r, file, fl);
                run_free(&r);
            }
            cf_buf_free(&b);
        }
    }
}

/* Random data over a small alphabet against a brute-force oracle, in random pieces. */
static void test_random(void **state)
{
    (void)state;
    static const char alpha[] = "\r\n-ab";
    static const char *const boundaries[] = {"ab", "-", "a-b", "-a-a", "b"};
    unsigned seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        const char *bd = boundaries[iter % 5];
        char delim[80];
        char file[64];
        snprintf(delim, sizeof delim, "\r\n--%s", bd);
        seed = seed * 1103515245u + 12345u;
        size_t fl = (seed >> 16) % sizeof file;
        for (size_t i = 0; i < fl; i++) {
            seed = seed * 1103515245u + 12345u;
            file[i] = alpha[(seed >> 16) % 5];
        }
        char hay[160];
        memcpy(hay, file, fl);
        snprintf(hay + fl, sizeof hay - fl, "%s", delim);
        if (strstr(hay, delim) != hay + fl)
            continue;
        cf_buf b;
        build(&b, bd, basic_fields, file, fl, NULL);
        seed = seed * 1103515245u + 12345u;
        run r;
        run_form(&r, bd, b.p, b.len, 1 + (seed >> 16) % 9);
        check_basic(&r, file, fl);
        run_free(&r);
        cf_buf_free(&b);
    }
}

/* Every byte value, a megabyte of it, fed in odd pieces. */
static void test_binary(void **state)
{
    (void)state;
    size_t fl = 1u << 20;
    char *file = malloc(fl);
    assert_non_null(file);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < fl; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        file[i] = (char)(x & 0xff);
        if (i % 4096 < 8)
            file[i] = "\r\n--bnd"[i % 4096 % 7]; /* plenty of near misses */
    }
    cf_buf b;
    build(&b, "bnd-0123456789", basic_fields, file, fl, NULL);
    static const size_t steps[] = {0, 1, 4093, 65536};
    for (size_t k = 0; k < 4; k++) {
        run r;
        run_form(&r, "bnd-0123456789", b.p, b.len, steps[k]);
        check_basic(&r, file, fl);
        run_free(&r);
    }
    cf_buf_free(&b);
    free(file);
}

static void test_preamble_padding_and_after_file(void **state)
{
    (void)state;
    static const char body[] = "This is a preamble.\r\n--b1 \t\r\n"
                               "content-disposition: form-data; name=key\r\n\r\n"
                               "k\r\n--b1\r\n"
                               "Content-Disposition: form-data; name=\"FILE\"; "
                               "filename=\"C:\\Users\\x\\a \\\"q\\\".txt\"\r\n"
                               "X-Other: ignored\r\n\r\n"
                               "DATA\r\n--b1\r\n"
                               "Content-Disposition: form-data; name=\"submit\"\r\n\r\n"
                               "Upload\r\n--b1 garbage after the file is not looked at";
    for (size_t step = 0; step < 4; step++) {
        run r;
        run_form(&r, "b1", body, sizeof body - 1, step);
        assert_int_equal(r.feed, CF_S3_OK);
        assert_int_equal(r.finish, CF_S3_OK);
        assert_int_equal(r.s.nfields_at_begin, 1);
        assert_true(cf_str_eq_c(cf_form_field(r.f, "key"), "k"));
        assert_true(cf_str_eq_c(r.s.filename, "C:\\Users\\x\\a \"q\".txt"));
        assert_true(cf_str_eq_c(cf_buf_str(&r.s.file), "DATA"));
        assert_int_equal(cf_form_file_type(r.f).len, 0);
        run_free(&r);
    }
}

/* Parameters in any order and case, quoted or not, escapes only where they matter. */
static void test_disposition_params(void **state)
{
    (void)state;
    static const char body[] =
        "--q\r\nContent-Disposition: form-data; x=\"a\\\"b\"; NAME=key\r\n\r\nk\r\n"
        "--q\r\nCONTENT-DISPOSITION:Form-Data;filename=\"x\\\".txt\";name=\"File\" \r\n\r\n"
        "F\r\n--q--";
    run r;
    run_form(&r, "q", body, sizeof body - 1, 1);
    assert_int_equal(r.finish, CF_S3_OK);
    assert_true(cf_str_eq_c(cf_form_field(r.f, "key"), "k"));
    assert_true(cf_str_eq_c(r.s.filename, "x\".txt"));
    assert_true(cf_str_eq_c(cf_buf_str(&r.s.file), "F"));
    run_free(&r);
}

static void test_no_file_and_cut(void **state)
{
    (void)state;
    cf_buf b;
    run r;
    build(&b, "zz", basic_fields, NULL, 0, NULL);
    run_form(&r, "zz", b.p, b.len, 1);
    assert_int_equal(r.feed, CF_S3_OK);
    assert_int_equal(r.finish, CF_S3_IncorrectNumberOfFilesInPostRequest);
    assert_int_equal(r.s.begins, 0);
    run_free(&r);
    cf_buf_free(&b);

    build(&b, "zz", basic_fields, "0123456789", 10, NULL);
    for (size_t cut = 0; cut < b.len; cut++) {
        run_form(&r, "zz", b.p, cut, 3);
        /* Cut anywhere before the file's delimiter ends: never a success. */
        size_t body_end = b.len - strlen("--\r\n");
        if (cut < body_end) {
            assert_int_equal(r.finish, CF_S3_MalformedPOSTRequest);
            assert_int_equal(r.s.ends, 0);
        } else {
            assert_int_equal(r.finish, CF_S3_OK);
        }
        run_free(&r);
    }
    cf_buf_free(&b);

    /* Empty body, or not a form at all. */
    run_form(&r, "zz", "", 0, 0);
    assert_int_equal(r.finish, CF_S3_MalformedPOSTRequest);
    run_free(&r);
    run_form(&r, "zz", "hello", 5, 0);
    assert_int_equal(r.finish, CF_S3_MalformedPOSTRequest);
    run_free(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        /* no Content-Disposition */
        "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",
        /* not form-data */
        "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nv\r\n--b--",
        /* no name */
        "--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--b--",
        /* unterminated quote */
        "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nv\r\n--b--",
        /* folded header */
        "--b\r\nContent-Disposition: form-data;\r\n name=\"x\"\r\n\r\nv\r\n--b--",
        /* junk after a delimiter */
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--bX\r\n--b--",
        /* two dispositions */
        ("--b\r\nContent-Disposition: form-data; name=\"x\"\r\nContent-Disposition: form-data; "
         "name=\"file\"\r\n\r\nv\r\n--b--"),
        /* a single dash closes nothing */
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b-\r\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        for (size_t step = 0; step < 2; step++) {
            run r;
            run_form(&r, "b", bodies[i], strlen(bodies[i]), step);
            assert_int_equal(r.finish, CF_S3_MalformedPOSTRequest);
            assert_int_equal(r.s.begins, 0);
            run_free(&r);
        }
    }
    /* A header line longer than the limit. */
    cf_buf b;
    cf_buf_init(&b, 1u << 20);
    cf_buf_append_c(&b, "--b\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Long: ");
    for (size_t i = 0; i < CF_FORM_HEADER_LINE_MAX; i++)
        cf_buf_append_ch(&b, 'a');
    cf_buf_append_c(&b, "\r\n\r\nv\r\n--b--");
    run r;
    run_form(&r, "b", b.p, b.len, 0);
    assert_int_equal(r.feed, CF_S3_MalformedPOSTRequest);
    assert_int_equal(r.finish, CF_S3_MalformedPOSTRequest);
    run_free(&r);
    cf_buf_free(&b);
}

static void test_limits(void **state)
{
    (void)state;
    cf_buf b;
    run r;
    /* One field at the limit is fine; one byte more is not. */
    for (int over = 0; over < 2; over++) {
        size_t vl = CF_FORM_FIELD_MAX + (size_t)over;
        char *v = malloc(vl + 1);
        assert_non_null(v);
        memset(v, 'v', vl);
        v[vl] = 0;
        const char *fields[] = {"big", v, NULL};
        build(&b, "lim", fields, "f", 1, NULL);
        run_form(&r, "lim", b.p, b.len, 1000);
        if (over) {
            assert_int_equal(r.feed, CF_S3_MaxPostPreDataLengthExceededError);
            assert_int_equal(r.finish, CF_S3_MaxPostPreDataLengthExceededError);
            assert_int_equal(r.s.begins, 0);
        } else {
            assert_int_equal(r.finish, CF_S3_OK);
            assert_int_equal(cf_form_field(r.f, "big").len, vl);
        }
        run_free(&r);
        cf_buf_free(&b);
        free(v);
    }
    /* Many fields under the per-field limit add up past the total. */
    cf_buf_init(&b, 4u << 20);
    char *v = malloc(60000);
    assert_non_null(v);
    memset(v, 'w', 59999);
    v[59999] = 0;
    for (int i = 0; i < 20; i++)
        cf_buf_printf(&b, "--lim\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%s\r\n", i,
                      v);
    cf_buf_append_c(&b,
                    "--lim\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--lim--");
    run_form(&r, "lim", b.p, b.len, 0);
    assert_int_equal(r.finish, CF_S3_MaxPostPreDataLengthExceededError);
    assert_int_equal(r.s.begins, 0);
    run_free(&r);
    cf_buf_free(&b);
    free(v);
    /* A huge preamble counts too. */
    cf_buf_init(&b, 4u << 20);
    for (size_t i = 0; i <= CF_FORM_PREDATA_MAX; i++)
        cf_buf_append_ch(&b, 'p');
    cf_buf_append_c(
        &b, "\r\n--lim\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--lim--");
    run_form(&r, "lim", b.p, b.len, 0);
    assert_int_equal(r.finish, CF_S3_MaxPostPreDataLengthExceededError);
    run_free(&r);
    cf_buf_free(&b);
    /* Too many fields. */
    cf_buf_init(&b, 4u << 20);
    for (int i = 0; i <= CF_FORM_MAX_FIELDS; i++)
        cf_buf_printf(&b, "--lim\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\r\n");
    cf_buf_append_c(&b,
                    "--lim\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--lim--");
    run_form(&r, "lim", b.p, b.len, 0);
    assert_int_equal(r.finish, CF_S3_MaxPostPreDataLengthExceededError);
    run_free(&r);
    cf_buf_free(&b);
    /* The file itself is not limited here. */
    size_t fl = 3u << 20;
    char *file = malloc(fl);
    assert_non_null(file);
    memset(file, 'F', fl);
    build(&b, "lim", basic_fields, file, fl, NULL);
    run_form(&r, "lim", b.p, b.len, 100000);
    check_basic(&r, file, fl);
    run_free(&r);
    cf_buf_free(&b);
    free(file);
}

static void test_callback_errors(void **state)
{
    (void)state;
    cf_buf b;
    build(&b, "cb", basic_fields, "0123456789", 10, NULL);
    run r;
    memset(&r, 0, sizeof r);
    r.a = cf_arena_new(0);
    cf_buf_init(&r.s.file, 1024);
    r.s.fail_begin = CF_S3_AccessDenied;
    r.f = cf_form_new(r.a, CF_STR("cb"), &cbs, &r.s);
    assert_int_equal(cf_form_feed(r.f, b.p, b.len), CF_S3_AccessDenied);
    assert_int_equal(cf_form_feed(r.f, "x", 1), CF_S3_AccessDenied);
    assert_int_equal(cf_form_finish(r.f), CF_S3_AccessDenied);
    assert_int_equal(r.s.file.len, 0);
    run_free(&r);

    memset(&r, 0, sizeof r);
    r.a = cf_arena_new(0);
    cf_buf_init(&r.s.file, 1024);
    r.s.fail_data = CF_S3_EntityTooLarge;
    r.f = cf_form_new(r.a, CF_STR("cb"), &cbs, &r.s);
    cf_s3err e = CF_S3_OK;
    for (size_t i = 0; i < b.len && e == CF_S3_OK; i++)
        e = cf_form_feed(r.f, b.p + i, 1);
    assert_int_equal(e, CF_S3_EntityTooLarge);
    assert_int_equal(r.s.file.len, 1); /* stopped at the first byte */
    assert_int_equal(r.s.ends, 0);
    run_free(&r);
    cf_buf_free(&b);
}

static void test_boundary(void **state)
{
    (void)state;
    cf_arena *a = cf_arena_new(0);
    cf_str b;
    assert_int_equal(cf_form_boundary(a, CF_STR("multipart/form-data; boundary=abc"), &b),
                     CF_S3_OK);
    assert_true(cf_str_eq_c(b, "abc"));
    assert_int_equal(
        cf_form_boundary(a, CF_STR("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\""), &b),
        CF_S3_OK);
    assert_true(cf_str_eq_c(b, "a b:c"));
    assert_int_equal(
        cf_form_boundary(a, CF_STR("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk"),
                         &b),
        CF_S3_OK);
    assert_true(cf_str_eq_c(b, "----WebKitFormBoundary7MA4YWxk"));
    assert_int_equal(cf_form_boundary(a, CF_STR("application/x-www-form-urlencoded"), &b),
                     CF_S3_PreconditionFailed);
    assert_int_equal(cf_form_boundary(a, CF_STR(""), &b), CF_S3_PreconditionFailed);
    assert_int_equal(cf_form_boundary(a, CF_STR("multipart/mixed; boundary=x"), &b),
                     CF_S3_PreconditionFailed);
    assert_int_equal(cf_form_boundary(a, CF_STR("multipart/form-data"), &b),
                     CF_S3_MalformedPOSTRequest);
    assert_int_equal(cf_form_boundary(a, CF_STR("multipart/form-data; boundary="), &b),
                     CF_S3_MalformedPOSTRequest);
    assert_int_equal(cf_form_boundary(a, CF_STR("multipart/form-data; boundary=\"x"), &b),
                     CF_S3_MalformedPOSTRequest);
    assert_int_equal(
        cf_form_boundary(
            a,
            CF_STR("multipart/form-data; boundary="
                   "01234567890123456789012345678901234567890123456789012345678901234567890"),
            &b),
        CF_S3_MalformedPOSTRequest);
    cf_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_every_split),
        cmocka_unit_test(test_lookalikes),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_preamble_padding_and_after_file),
        cmocka_unit_test(test_disposition_params),
        cmocka_unit_test(test_no_file_and_cut),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_callback_errors),
        cmocka_unit_test(test_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
