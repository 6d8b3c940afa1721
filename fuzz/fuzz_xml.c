/* Request-body XML (expat into a small tree) and the response writer.
 * 1. The input is parsed as a body. When it parses: the tree respects the documented bounds
 *    (depth, node count), links are consistent, the S3 accessors run over it, and writing
 *    the tree back with the writer and parsing that again gives the same names and texts.
 * 2. The input is written as element text with cf_xml_elem (any bytes: object keys reach the
 *    writer that way). Unless it holds C0 controls (written as character references, as S3
 *    does, which XML 1.0 parsers refuse), the result must parse, and its text must be the
 *    input with each byte of malformed UTF-8 replaced by U+FFFD (U+FFFE and U+FFFF, which
 *    XML cannot carry, may be rendered any way that parses). */
#include "fuzz.h"

#include "core/arena.h"
#include "core/buf.h"
#include "s3/xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

/* Element names S3 bodies use: the accessors are exercised with them. */
static const char *const names[] = {
    "Part",
    "PartNumber",
    "ETag",
    "Object",
    "Key",
    "VersionId",
    "Quiet",
    "CORSRule",
    "AllowedOrigin",
    "AllowedMethod",
    "AllowedHeader",
    "ExposeHeader",
    "MaxAgeSeconds",
    "Rule",
    "ID",
    "Filter",
    "Prefix",
    "Status",
    "Expiration",
    "Days",
    "Date",
    "Tag",
    "Value",
    "TagSet",
    "LocationConstraint",
    "ChecksumCRC32",
    "ChecksumSHA256",
    "And",
    "ObjectSizeGreaterThan",
    "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
    "DaysAfterInitiation",
};

static size_t walk(const cf_xml_node *n, size_t depth)
{
    size_t count = 1;
    FUZZ_CHECK(depth <= CF_XML_MAX_DEPTH);
    FUZZ_CHECK(n->name.len > 0 && n->name.p != NULL && n->text.p != NULL);
    FUZZ_CHECK(memchr(n->name.p, ':', n->name.len) == NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cf_xml_node *c = cf_xml_child(n, names[i]);
        cf_str t = cf_xml_child_text(n, names[i]);
        size_t k = cf_xml_count(n, names[i]);
        FUZZ_CHECK((c == NULL) == (k == 0) && (c == NULL) == (t.p == NULL));
        if (c)
            FUZZ_CHECK(t.len <= c->text.len);
    }
    for (const cf_xml_node *c = n->child; c; c = c->next) {
        FUZZ_CHECK(c->parent == n);
        count += walk(c, depth + 1);
    }
    return count;
}

/* Writes the tree back. Local names may not start a name on their own ("a:1" gives "1"),
 * so each gets a prefix, which the parser strips again. */
static cf_rc write_tree(cf_buf *b, const cf_xml_node *n)
{
    cf_rc rc = cf_buf_append_c(b, "<x:");
    if (rc == CF_OK)
        rc = cf_buf_append_str(b, n->name);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(b, '>');
    if (rc == CF_OK)
        rc = cf_buf_append_xml(b, n->text);
    for (const cf_xml_node *c = n->child; c && rc == CF_OK; c = c->next)
        rc = write_tree(b, c);
    if (rc == CF_OK)
        rc = cf_buf_append_c(b, "</x:");
    if (rc == CF_OK)
        rc = cf_buf_append_str(b, n->name);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(b, '>');
    return rc;
}

static void same_tree(const cf_xml_node *a, const cf_xml_node *b)
{
    FUZZ_CHECK(cf_str_eq(a->name, b->name));
    FUZZ_CHECK(cf_str_eq(a->text, b->text));
    for (a = a->child, b = b->child; a && b; a = a->next, b = b->next)
        same_tree(a, b);
    FUZZ_CHECK(a == NULL && b == NULL);
}

/* The input as the writer should render it: malformed UTF-8 bytes as U+FFFD. */
static void expected_text(cf_str s, cf_buf *out)
{
    for (size_t i = 0; i < s.len;) {
        unsigned char c = (unsigned char)s.p[i];
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c < 0x80) {
            FUZZ_CHECK(cf_buf_append_ch(out, (char)c) == CF_OK);
            i++;
        } else if (n > 1 && i + n <= s.len && cf_utf8_valid(cf_str_make(s.p + i, n))) {
            FUZZ_CHECK(cf_buf_append(out, s.p + i, n) == CF_OK);
            i += n;
        } else {
            FUZZ_CHECK(cf_buf_append_c(out, "\xEF\xBF\xBD") == CF_OK);
            i++;
        }
    }
}

static int has_c0(cf_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 1;
    }
    return 0;
}

static void writer_property(cf_str s)
{
    cf_buf doc, want;
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root = NULL;

    cf_buf_init(&doc, 1 << 20);
    cf_buf_init(&want, 1 << 20);
    FUZZ_CHECK(a != NULL);
    FUZZ_CHECK(cf_xml_elem(&doc, "Key", s) == CF_OK);
    if (!has_c0(s)) {
        cf_s3err e = cf_xml_parse(a, cf_buf_str(&doc), &root);
        if (e != CF_S3_OK)
            fprintf(stderr, "the writer's output does not parse: %.*s\n",
                    CF_STR_FMT(cf_buf_str(&doc)));
        FUZZ_CHECK(e == CF_S3_OK);
        /* How U+FFFE and U+FFFF (not XML characters) are rendered is the writer's choice. */
        if (s.len < 3 ||
            (!memmem(s.p, s.len, "\xEF\xBF\xBE", 3) && !memmem(s.p, s.len, "\xEF\xBF\xBF", 3))) {
            expected_text(s, &want);
            FUZZ_CHECK(cf_str_eq(root->text, cf_buf_str(&want)));
        }
    }
    cf_buf_free(&doc);
    cf_buf_free(&want);
    cf_arena_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The empty input stands for the absent slice (CF_STR_NULL), which callers write too. */
    cf_str body = cf_str_make(size ? (const char *)data : NULL, size);
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root = NULL, *again = NULL;
    cf_buf out;

    cf_buf_init(&out, 4 << 20);
    FUZZ_CHECK(a != NULL);
    if (cf_xml_parse(a, body, &root) == CF_S3_OK) {
        FUZZ_CHECK(root != NULL && root->parent == NULL && root->next == NULL);
        FUZZ_CHECK(walk(root, 1) <= CF_XML_MAX_NODES);
        FUZZ_CHECK(write_tree(&out, root) == CF_OK);
        FUZZ_CHECK(cf_xml_parse(a, cf_buf_str(&out), &again) == CF_S3_OK);
        same_tree(root, again);
    }
    writer_property(body);
    cf_buf_free(&out);
    cf_arena_destroy(a);
    return 0;
}
