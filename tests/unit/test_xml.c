/* s3/xml: the small expat tree and the response writers. Includes the .c to reach the
 * text budget directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3/xml.c"

/* Parses a copy of the body with no NUL after it, so ASan sees any over-read. */
static cf_s3err parse(cf_arena *a, const char *body, size_t len, cf_xml_node **root)
{
    char *copy = malloc(len ? len : 1);
    cf_s3err e;
    assert_non_null(copy);
    if (len)
        memcpy(copy, body, len);
    e = cf_xml_parse(a, cf_str_make(copy, len), root);
    /* Nothing in the tree may point into the body. */
    memset(copy, 'Z', len);
    free(copy);
    return e;
}

static cf_xml_node *parse_ok(cf_arena *a, const char *body)
{
    cf_xml_node *root = NULL;
    assert_int_equal(parse(a, body, strlen(body), &root), CF_S3_OK);
    assert_non_null(root);
    return root;
}

static void expect_malformed(const char *body, size_t len)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root = (cf_xml_node *)1;
    assert_non_null(a);
    assert_int_equal(parse(a, body, len, &root), CF_S3_MalformedXML);
    assert_null(root);
    cf_arena_destroy(a);
}

#define MALFORMED(lit) expect_malformed((lit), sizeof(lit) - 1)

static void assert_str(cf_str s, const char *want)
{
    assert_non_null(s.p);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

/* ---- good documents ---- */

static void test_create_bucket(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root;
    (void)state;
    root = parse_ok(a, CF_XML_DECL "<CreateBucketConfiguration xmlns=\"" CF_S3_XMLNS "\">\n"
                                   "  <LocationConstraint>eu-west-1</LocationConstraint>\n"
                                   "</CreateBucketConfiguration>\n");
    assert_str(root->name, "CreateBucketConfiguration");
    assert_null(root->parent);
    assert_null(root->next);
    /* Text directly inside, untrimmed: the whitespace around the child. */
    assert_str(root->text, "\n  \n");
    assert_str(cf_xml_child_text(root, "LocationConstraint"), "eu-west-1");
    assert_ptr_equal(cf_xml_child(root, "LocationConstraint")->parent, root);
    assert_int_equal(cf_xml_count(root, "LocationConstraint"), 1);
    cf_arena_destroy(a);
}

static void test_prefixes_and_order(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root, *o;
    const char *keys[] = {"a", "b", "c"};
    size_t i = 0;
    (void)state;
    root = parse_ok(a, "<s3:Delete xmlns:s3=\"" CF_S3_XMLNS "\" xmlns:x=\"urn:x\">"
                       "<s3:Object><s3:Key>a</s3:Key></s3:Object>"
                       "<x:Object><Key>b</Key><VersionId>v1</VersionId></x:Object>"
                       "<s3:Quiet>true</s3:Quiet>"
                       "<Object a=\"1\" b='2'><s3:Key>c</s3:Key></Object>"
                       "</s3:Delete>");
    assert_str(root->name, "Delete");
    assert_int_equal(cf_xml_count(root, "Object"), 3);
    assert_int_equal(cf_xml_count(root, "Quiet"), 1);
    assert_int_equal(cf_xml_count(root, "Nope"), 0);
    assert_str(cf_xml_child_text(root, "Quiet"), "true");
    for (o = root->child; o; o = o->next) {
        if (!cf_str_eq_c(o->name, "Object"))
            continue;
        assert_ptr_equal(o->parent, root);
        assert_str(cf_xml_child_text(o, "Key"), keys[i++]);
    }
    assert_int_equal(i, 3);
    assert_str(cf_xml_child_text(cf_xml_child(root, "Object")->next, "VersionId"), "v1");
    cf_arena_destroy(a);
}

static void test_text_forms(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root;
    (void)state;
    root = parse_ok(a, "<a>"
                       "<cdata><![CDATA[x<y>&z;]]]></cdata>"
                       "<ent>&lt;&gt;&amp;&quot;&apos;</ent>"
                       "<ref>&#65;&#x42;&#x20AC;&#128512;</ref>"
                       "<mixed>x<b/>y<!-- note -->z</mixed>"
                       "<ws>\r\n\t v w \n</ws>"
                       "<empty></empty><selfclosed/>"
                       "<utf8>\xc3\xa9\xe2\x82\xac</utf8>"
                       "</a>");
    assert_str(cf_xml_child_text(root, "cdata"), "x<y>&z;]");
    assert_str(cf_xml_child_text(root, "ent"), "<>&\"'");
    assert_str(cf_xml_child_text(root, "ref"), "AB\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_str(cf_xml_child(root, "mixed")->text, "xyz");
    /* Expat normalises CR LF to LF; the raw text keeps the rest. */
    assert_str(cf_xml_child(root, "ws")->text, "\n\t v w \n");
    assert_str(cf_xml_child_text(root, "ws"), "v w");
    assert_str(cf_xml_child_text(root, "empty"), "");
    assert_str(cf_xml_child_text(root, "selfclosed"), "");
    assert_str(cf_xml_child_text(root, "utf8"), "\xc3\xa9\xe2\x82\xac");
    assert_null(cf_xml_child_text(root, "absent").p);
    assert_null(cf_xml_child(root, "absent"));
    assert_null(cf_xml_child(NULL, "a"));
    assert_null(cf_xml_child_text(NULL, "a").p);
    assert_int_equal(cf_xml_count(NULL, "a"), 0);
    cf_arena_destroy(a);
}

static void test_prolog_comments_whitespace(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root;
    (void)state;
    root = parse_ok(a, "\xef\xbb\xbf<?xml version='1.0' encoding='utf-8' standalone='yes'?>"
                       "\n<!-- before -->\n<r >  <k>1</k  >\n</r>\n<!-- after -->\n\n");
    assert_str(root->name, "r");
    assert_str(cf_xml_child_text(root, "k"), "1");
    root = parse_ok(a, "<r/>");
    assert_str(root->name, "r");
    assert_null(root->child);
    assert_str(root->text, "");
    cf_arena_destroy(a);
}

static char *nested(size_t depth)
{
    char *s = malloc(depth * 7 + 1), *o = s;
    assert_non_null(s);
    for (size_t i = 0; i < depth; i++)
        o += snprintf(o, 4, "<a>");
    for (size_t i = 0; i < depth; i++)
        o += snprintf(o, 5, "</a>");
    return s;
}

static void test_depth_limit(void **state)
{
    cf_arena *a = cf_arena_new(0);
    char *s = nested(CF_XML_MAX_DEPTH);
    cf_xml_node *n;
    size_t d = 0;
    (void)state;
    for (n = parse_ok(a, s); n; n = n->child)
        d++;
    assert_int_equal(d, CF_XML_MAX_DEPTH);
    free(s);
    s = nested(CF_XML_MAX_DEPTH + 1);
    expect_malformed(s, strlen(s));
    free(s);
    s = nested(100000); /* deep enough to hurt a recursive parser */
    expect_malformed(s, strlen(s));
    free(s);
    /* An empty element past the limit (expat may still report its end after the stop). */
    MALFORMED("<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a/>"
              "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>");
    cf_arena_destroy(a);
}

static char *wide(size_t nodes)
{
    /* A root plus nodes-1 empty children. */
    char *s = malloc(nodes * 4 + 16), *o = s;
    assert_non_null(s);
    o += snprintf(o, 4, "<r>");
    for (size_t i = 1; i < nodes; i++)
        o += snprintf(o, 5, "<k/>");
    snprintf(o, 5, "</r>");
    return s;
}

static void test_node_limit(void **state)
{
    cf_arena *a = cf_arena_new(0);
    char *s = wide(CF_XML_MAX_NODES);
    (void)state;
    assert_int_equal(cf_xml_count(parse_ok(a, s), "k"), CF_XML_MAX_NODES - 1);
    free(s);
    s = wide(CF_XML_MAX_NODES + 1);
    expect_malformed(s, strlen(s));
    free(s);
    cf_arena_destroy(a);
}

static void test_text_budget(void **state)
{
    pstate st;
    (void)state;
    memset(&st, 0, sizeof(st));
    st.xp = XML_ParserCreate(NULL);
    assert_non_null(st.xp);
    for (size_t i = 0; i < CF_XML_MAX_DEPTH; i++)
        cf_buf_init(&st.text[i], 64);
    st.depth = 1;
    st.text_left = 10;
    on_text(&st, "0123456789", 10);
    assert_int_equal(st.err, CF_S3_OK);
    assert_int_equal(st.text[0].len, 10);
    on_text(&st, "x", 1);
    assert_int_equal(st.err, CF_S3_MalformedXML);
    assert_int_equal(st.text[0].len, 10);
    for (size_t i = 0; i < CF_XML_MAX_DEPTH; i++)
        cf_buf_free(&st.text[i]);
    XML_ParserFree(st.xp);
}

static void test_arena_max(void **state)
{
    /* A small arena: a big body hits its max and is refused, not crashed on. */
    cf_arena *a = cf_arena_new(4096);
    char *s = wide(1000);
    cf_xml_node *root = NULL;
    (void)state;
    assert_int_equal(parse(a, s, strlen(s), &root), CF_S3_MalformedXML);
    assert_null(root);
    free(s);
    cf_arena_destroy(a);
}

/* ---- refusals ---- */

/* Refused by us, though plain expat would take it: proves the handler does the work. */
static void expect_ours(const char *body)
{
    XML_Parser xp = XML_ParserCreate(NULL);
    assert_non_null(xp);
    assert_int_equal(XML_Parse(xp, body, (int)strlen(body), 1), XML_STATUS_OK);
    XML_ParserFree(xp);
    expect_malformed(body, strlen(body));
}

static void test_refusals_are_ours(void **state)
{
    (void)state;
    expect_ours("<!DOCTYPE a><a/>");
    expect_ours("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>");
    expect_ours("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>");
    expect_ours("<!DOCTYPE a [<!NOTATION n SYSTEM \"n\"><!ENTITY u SYSTEM \"u\" NDATA n>]><a/>");
    expect_ours("<?xml-stylesheet href=\"x.xsl\"?><a/>");
    expect_ours("<a><?php echo 1; ?></a>");
    expect_ours("<a:/>");
}

/* Each second-line handler refuses on its own, should the DOCTYPE one ever be bypassed. */
typedef void (*install_fn)(XML_Parser xp);
static void only_entity(XML_Parser xp)
{
    XML_SetEntityDeclHandler(xp, on_entity_decl);
}
static void only_external(XML_Parser xp)
{
    XML_SetExternalEntityRefHandler(xp, on_external_entity);
}
static void only_unparsed(XML_Parser xp)
{
    XML_SetUnparsedEntityDeclHandler(xp, on_unparsed_entity);
}
static void only_notation(XML_Parser xp)
{
    XML_SetNotationDeclHandler(xp, on_notation);
}

static void handler_alone(install_fn install, const char *body)
{
    pstate st;
    memset(&st, 0, sizeof(st));
    st.xp = XML_ParserCreate(NULL);
    assert_non_null(st.xp);
    XML_SetUserData(st.xp, &st);
    install(st.xp);
    assert_int_equal(XML_Parse(st.xp, body, (int)strlen(body), 1), XML_STATUS_ERROR);
    assert_int_equal(st.err, CF_S3_MalformedXML);
    XML_ParserFree(st.xp);
}

static void test_handlers_alone(void **state)
{
    (void)state;
    handler_alone(only_entity, "<!DOCTYPE a [<!ENTITY e \"x\">]><a/>");
    handler_alone(only_external, "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                                 "<a>&x;</a>");
    handler_alone(only_unparsed, "<!DOCTYPE a [<!NOTATION n SYSTEM \"n\">"
                                 "<!ENTITY u SYSTEM \"u\" NDATA n>]><a/>");
    handler_alone(only_notation, "<!DOCTYPE a [<!NOTATION n SYSTEM \"n\">]><a/>");
}

static void test_refuse_dtd(void **state)
{
    (void)state;
    MALFORMED("<!DOCTYPE a><a/>");
    MALFORMED("<?xml version=\"1.0\"?><!DOCTYPE a SYSTEM \"http://127.0.0.1/a.dtd\"><a/>");
    MALFORMED("<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a>x</a>");
    MALFORMED("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>");
    MALFORMED("<!DOCTYPE a [<!ENTITY e \"x\">]><a/>");
    /* Billion laughs. */
    MALFORMED("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
              "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
              "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
              "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
              "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
              "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
              "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
              "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
              "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
              "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
              "]><lolz>&lol9;</lolz>");
    /* External entities (XXE), general and parameter, and unparsed ones. */
    MALFORMED("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>");
    MALFORMED("<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1/p\"> %p;]><a/>");
    MALFORMED("<!DOCTYPE a [<!NOTATION n SYSTEM \"n\">"
              "<!ENTITY u SYSTEM \"u\" NDATA n>]><a/>");
}

static void test_refuse_entities_and_pis(void **state)
{
    (void)state;
    MALFORMED("<a>&undefined;</a>");
    MALFORMED("<a>&#0;</a>");
    MALFORMED("<a>&#xD800;</a>");
    MALFORMED("<?xml-stylesheet href=\"x.xsl\"?><a/>");
    MALFORMED("<a><?php echo 1; ?></a>");
    MALFORMED("<a/><?pi?>");
    /* An XML declaration anywhere but the very start is a PI with a reserved name. */
    MALFORMED(" <?xml version=\"1.0\"?><a/>");
}

static void test_refuse_not_well_formed(void **state)
{
    (void)state;
    MALFORMED("<a>");
    MALFORMED("<a></b>");
    MALFORMED("<a><b></a></b>");
    MALFORMED("a");
    MALFORMED("<a x=\"1\" x=\"2\"/>");
    MALFORMED("<a>x & y</a>");
    MALFORMED("<a>x < y</a>");
    MALFORMED("<1a/>");
    MALFORMED("<a:/>");
    MALFORMED("<a>\xff</a>");
    MALFORMED("<a>\xc0\xaf</a>");
    MALFORMED("<a>\0</a>");
    MALFORMED("<?xml version=\"1.0\" encoding=\"x-unknown\"?><a/>");
    /* Trailing garbage and a second root. */
    MALFORMED("<a/>junk");
    MALFORMED("<a/><b/>");
    MALFORMED("<a/>\0");
    /* Empty and blank bodies. */
    MALFORMED("");
    MALFORMED("   \n\t");
    MALFORMED("<?xml version=\"1.0\"?>");
    MALFORMED("<!-- only a comment -->");
}

static void test_null_body(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_xml_node *root = (cf_xml_node *)1;
    (void)state;
    assert_int_equal(cf_xml_parse(a, CF_STR_NULL, &root), CF_S3_MalformedXML);
    assert_null(root);
    cf_arena_destroy(a);
}

static void test_truncations(void **state)
{
    /* Every proper prefix of a good document is refused; none crashes. */
    static const char doc[] = "<?xml version=\"1.0\"?><D xmlns=\"urn:x\"><O><K>a&amp;b</K>"
                              "<![CDATA[c]]></O></D>";
    (void)state;
    for (size_t n = 0; n < sizeof(doc) - 1; n++)
        expect_malformed(doc, n);
}

/* ---- writers ---- */

static void test_writer_escaping(void **state)
{
    static const char want[] = "<ListBucketResult><Key>a&lt;b&gt;&amp;c&quot;d&apos;e</Key>"
                               "<Prefix></Prefix><Name>bkt</Name>"
                               "<Size>18446744073709551615</Size><Zero>0</Zero><Bin>x\xEF\xBF\xBDy</Bin>"
                               "<Utf>\xC3\xBC\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD</Utf>"
                               "</ListBucketResult>";
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 0);
    assert_int_equal(cf_xml_open(&b, "ListBucketResult"), CF_OK);
    assert_int_equal(cf_xml_elem(&b, "Key", CF_STR("a<b>&c\"d'e")), CF_OK);
    assert_int_equal(cf_xml_elem_c(&b, "Prefix", NULL), CF_OK);
    assert_int_equal(cf_xml_elem_c(&b, "Name", "bkt"), CF_OK);
    assert_int_equal(cf_xml_elem_u64(&b, "Size", 18446744073709551615ULL), CF_OK);
    assert_int_equal(cf_xml_elem_u64(&b, "Zero", 0), CF_OK);
    /* NUL cannot appear in XML 1.0, not even as &#x0;: it becomes U+FFFD */
    assert_int_equal(cf_xml_elem(&b, "Bin", cf_str_make("x\0y", 3)), CF_OK);
    /* valid UTF-8 kept; each byte that is not part of valid UTF-8 becomes U+FFFD */
    assert_int_equal(cf_xml_elem(&b, "Utf", CF_STR("\xC3\xBC\xFFz\xE2\x82")), CF_OK);
    assert_int_equal(cf_xml_close(&b, "ListBucketResult"), CF_OK);
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.p, want, b.len);
    cf_buf_free(&b);
}

static void test_writer_limit(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 16);
    assert_int_equal(cf_xml_elem_c(&b, "K", "v"), CF_OK); /* <K>v</K>: 8 bytes */
    /* Would need 8 + 4 + 10 + 4 bytes: refused as a whole, buffer untouched. */
    assert_int_equal(cf_xml_elem_c(&b, "K", "&&"), CF_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.p, "<K>v</K>");
    assert_int_equal(cf_xml_elem_u64(&b, "Num", 123456), CF_ETOOBIG);
    assert_int_equal(cf_xml_open(&b, "LongerName"), CF_ETOOBIG);
    assert_int_equal(cf_xml_close(&b, "LongerName"), CF_ETOOBIG);
    assert_string_equal(b.p, "<K>v</K>");
    assert_int_equal(cf_xml_open(&b, "A"), CF_OK);
    assert_int_equal(cf_xml_close(&b, "A"), CF_OK);
    assert_string_equal(b.p, "<K>v</K><A></A>");
    cf_buf_free(&b);
}

static void test_roundtrip(void **state)
{
    static const char text[] = "  <odd> & \"quoted\" 'key' ]]> \xe2\x82\xac ";
    cf_arena *a = cf_arena_new(0);
    cf_buf b;
    cf_xml_node *root;
    (void)state;
    cf_buf_init(&b, 0);
    assert_int_equal(cf_xml_open(&b, "R"), CF_OK);
    assert_int_equal(cf_xml_elem_c(&b, "T", text), CF_OK);
    assert_int_equal(cf_xml_close(&b, "R"), CF_OK);
    root = parse_ok(a, b.p);
    assert_str(cf_xml_child(root, "T")->text, text);
    cf_buf_free(&b);
    cf_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_bucket),
        cmocka_unit_test(test_prefixes_and_order),
        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_prolog_comments_whitespace),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_text_budget),
        cmocka_unit_test(test_arena_max),
        cmocka_unit_test(test_refusals_are_ours),
        cmocka_unit_test(test_handlers_alone),
        cmocka_unit_test(test_refuse_dtd),
        cmocka_unit_test(test_refuse_entities_and_pis),
        cmocka_unit_test(test_refuse_not_well_formed),
        cmocka_unit_test(test_null_body),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_writer_escaping),
        cmocka_unit_test(test_writer_limit),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
