#include "s3/xml.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

/* XML_Parse takes an int length: feed big bodies in pieces. */
#define FEED_CHUNK ((size_t)1 << 20)

typedef struct pstate {
    XML_Parser xp;
    cf_arena *a;
    cf_xml_node *root;
    cf_xml_node *cur; /* innermost open element */
    size_t depth;     /* open elements */
    size_t nodes;
    size_t text_left; /* text budget still available, in bytes */
    /* Per open element (index depth-1): its last child so far, and its text so far. */
    cf_xml_node *last[CF_XML_MAX_DEPTH];
    cf_buf text[CF_XML_MAX_DEPTH];
    cf_s3err err; /* set by the handler that stopped the parser */
} pstate;

/* Records the first error and stops expat; handlers check st->err first because expat may
 * still deliver a few callbacks (e.g. the end of an empty element) after a stop. */
static void stop(pstate *st, cf_s3err e)
{
    if (st->err == CF_S3_OK) {
        st->err = e;
        XML_StopParser(st->xp, XML_FALSE);
    }
}

static cf_s3err buf_err(cf_rc rc)
{
    return rc == CF_ENOMEM ? CF_S3_InternalError : CF_S3_MalformedXML;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    pstate *st = ud;
    const char *colon = strrchr(name, ':');
    cf_str local = cf_str_c(colon ? colon + 1 : name);
    cf_xml_node *n;
    (void)atts; /* attributes (xmlns included) carry nothing S3 bodies need */
    if (st->err)
        return;
    if (st->depth >= CF_XML_MAX_DEPTH || st->nodes >= CF_XML_MAX_NODES || local.len == 0) {
        stop(st, CF_S3_MalformedXML);
        return;
    }
    n = cf_arena_alloc(st->a, sizeof(*n));
    if (n)
        n->name = cf_arena_str(st->a, local);
    /* The arena max is a limit the client can reach: report it as the body's fault. */
    if (!n || !n->name.p) {
        stop(st, CF_S3_MalformedXML);
        return;
    }
    n->text = cf_str_make("", 0);
    n->parent = st->cur;
    if (st->cur) {
        cf_xml_node **last = &st->last[st->depth - 1];
        if (*last)
            (*last)->next = n;
        else
            st->cur->child = n;
        *last = n;
    } else {
        st->root = n;
    }
    st->last[st->depth] = NULL;
    cf_buf_reset(&st->text[st->depth]);
    st->depth++;
    st->nodes++;
    st->cur = n;
}

static void on_end(void *ud, const XML_Char *name)
{
    pstate *st = ud;
    cf_buf *t;
    (void)name; /* expat has already matched it against the start tag */
    if (st->err || st->depth == 0)
        return;
    t = &st->text[st->depth - 1];
    if (t->len) {
        st->cur->text = cf_arena_str(st->a, cf_buf_str(t));
        if (!st->cur->text.p) {
            stop(st, CF_S3_MalformedXML);
            return;
        }
    }
    cf_buf_reset(t);
    st->depth--;
    st->cur = st->cur->parent;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    pstate *st = ud;
    cf_rc rc;
    if (st->err || st->depth == 0 || len <= 0)
        return;
    if ((size_t)len > st->text_left) {
        stop(st, CF_S3_MalformedXML);
        return;
    }
    st->text_left -= (size_t)len;
    rc = cf_buf_append(&st->text[st->depth - 1], s, (size_t)len);
    if (rc != CF_OK)
        stop(st, buf_err(rc));
}

/* ---- refusals: none of these has a place in an S3 request body ---- */

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    stop(ud, CF_S3_MalformedXML);
}

static void on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation)
{
    (void)name;
    (void)is_param;
    (void)value;
    (void)value_len;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    stop(ud, CF_S3_MalformedXML);
}

static void on_unparsed_entity(void *ud, const XML_Char *name, const XML_Char *base,
                               const XML_Char *sysid, const XML_Char *pubid,
                               const XML_Char *notation)
{
    (void)name;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    stop(ud, CF_S3_MalformedXML);
}

static void on_notation(void *ud, const XML_Char *name, const XML_Char *base, const XML_Char *sysid,
                        const XML_Char *pubid)
{
    (void)name;
    (void)base;
    (void)sysid;
    (void)pubid;
    stop(ud, CF_S3_MalformedXML);
}

/* The XML declaration is not a PI to expat, so every call here is a real one. */
static void on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    (void)target;
    (void)data;
    stop(ud, CF_S3_MalformedXML);
}

static void on_skipped_entity(void *ud, const XML_Char *name, int is_param)
{
    (void)name;
    (void)is_param;
    stop(ud, CF_S3_MalformedXML);
}

/* Never fetch anything: an error here fails the parse. Expat passes the parser here. */
static int on_external_entity(XML_Parser xp, const XML_Char *context, const XML_Char *base,
                              const XML_Char *sysid, const XML_Char *pubid)
{
    (void)context;
    (void)base;
    (void)sysid;
    (void)pubid;
    stop(XML_GetUserData(xp), CF_S3_MalformedXML);
    return XML_STATUS_ERROR;
}

cf_s3err cf_xml_parse(cf_arena *a, cf_str body, cf_xml_node **root)
{
    pstate st;
    cf_s3err err = CF_S3_MalformedXML;
    const char *p = body.p;
    size_t left = body.len;

    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < CF_XML_MAX_DEPTH; i++)
        cf_buf_init(&st.text[i], body.len ? body.len : 1);
    *root = NULL;
    if (!body.p || body.len == 0)
        goto out;
    st.a = a;
    /* Without entities, decoded text is never longer than the (UTF-8) body. */
    st.text_left = body.len;
    st.xp = XML_ParserCreate(NULL);
    if (!st.xp) {
        err = CF_S3_InternalError;
        goto out;
    }
    XML_SetUserData(st.xp, &st);
    XML_SetElementHandler(st.xp, on_start, on_end);
    XML_SetCharacterDataHandler(st.xp, on_text);
    XML_SetStartDoctypeDeclHandler(st.xp, on_doctype);
    XML_SetEntityDeclHandler(st.xp, on_entity_decl);
    XML_SetUnparsedEntityDeclHandler(st.xp, on_unparsed_entity);
    XML_SetNotationDeclHandler(st.xp, on_notation);
    XML_SetProcessingInstructionHandler(st.xp, on_pi);
    XML_SetSkippedEntityHandler(st.xp, on_skipped_entity);
    XML_SetExternalEntityRefHandler(st.xp, on_external_entity);
    XML_SetParamEntityParsing(st.xp, XML_PARAM_ENTITY_PARSING_NEVER);

    do {
        size_t n = left < FEED_CHUNK ? left : FEED_CHUNK;
        int final = n == left;
        if (XML_Parse(st.xp, p, (int)n, final) != XML_STATUS_OK) {
            if (st.err != CF_S3_OK)
                err = st.err;
            else if (XML_GetErrorCode(st.xp) == XML_ERROR_NO_MEMORY)
                err = CF_S3_InternalError;
            goto out;
        }
        p += n;
        left -= n;
    } while (left);

    if (st.err != CF_S3_OK || !st.root || st.depth != 0) {
        err = st.err != CF_S3_OK ? st.err : CF_S3_MalformedXML;
        goto out;
    }
    *root = st.root;
    err = CF_S3_OK;
out:
    if (st.xp)
        XML_ParserFree(st.xp);
    for (size_t i = 0; i < CF_XML_MAX_DEPTH; i++)
        cf_buf_free(&st.text[i]);
    return err;
}

cf_xml_node *cf_xml_child(const cf_xml_node *n, const char *name)
{
    if (!n)
        return NULL;
    for (cf_xml_node *c = n->child; c; c = c->next)
        if (cf_str_eq_c(c->name, name))
            return c;
    return NULL;
}

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cf_str cf_xml_child_text(const cf_xml_node *n, const char *name)
{
    const cf_xml_node *c = cf_xml_child(n, name);
    cf_str s;
    if (!c)
        return CF_STR_NULL;
    s = c->text;
    while (s.len && xml_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && xml_space(s.p[s.len - 1]))
        s.len--;
    return s;
}

size_t cf_xml_count(const cf_xml_node *n, const char *name)
{
    size_t k = 0;
    if (!n)
        return 0;
    for (const cf_xml_node *c = n->child; c; c = c->next)
        if (cf_str_eq_c(c->name, name))
            k++;
    return k;
}

/* ---- writing ---- */

/* Undoes a partial write so every writer is all or nothing. */
static cf_rc settle(cf_buf *b, size_t old, cf_rc rc)
{
    if (rc != CF_OK) {
        b->len = old;
        if (b->p)
            b->p[old] = '\0';
    }
    return rc;
}

static cf_rc tag(cf_buf *b, const char *open, const char *name)
{
    cf_rc rc = cf_buf_append_c(b, open);
    if (rc == CF_OK)
        rc = cf_buf_append_c(b, name);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(b, '>');
    return rc;
}

cf_rc cf_xml_elem(cf_buf *b, const char *name, cf_str text)
{
    size_t old = b->len;
    cf_rc rc = tag(b, "<", name);
    if (rc == CF_OK)
        rc = cf_buf_append_xml(b, text);
    if (rc == CF_OK)
        rc = tag(b, "</", name);
    return settle(b, old, rc);
}

cf_rc cf_xml_elem_c(cf_buf *b, const char *name, const char *text)
{
    return cf_xml_elem(b, name, cf_str_c(text));
}

cf_rc cf_xml_elem_u64(cf_buf *b, const char *name, unsigned long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", v);
    return cf_xml_elem(b, name, cf_str_make(num, (size_t)n));
}

cf_rc cf_xml_open(cf_buf *b, const char *name)
{
    size_t old = b->len;
    return settle(b, old, tag(b, "<", name));
}

cf_rc cf_xml_close(cf_buf *b, const char *name)
{
    size_t old = b->len;
    return settle(b, old, tag(b, "</", name));
}
