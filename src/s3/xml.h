/* Small request bodies in XML (CreateBucketConfiguration, later DeleteObjects, CORS,
 * lifecycle, tagging, CompleteMultipartUpload) parsed with expat into a tiny tree, and
 * helpers to write response XML. DOCTYPE, entities other than the five predefined ones and
 * processing instructions are refused; depth, node count and text size are bounded. */
#ifndef COFFER_S3_XML_H
#define COFFER_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/s3err.h"
#include "core/str.h"

typedef struct cf_xml_node {
    cf_str name; /* local name: any "prefix:" is stripped */
    cf_str text; /* concatenated character data directly inside this element, untrimmed */
    struct cf_xml_node *parent;
    struct cf_xml_node *child; /* first child */
    struct cf_xml_node *next;  /* next sibling */
} cf_xml_node;

#define CF_XML_MAX_DEPTH 16
/* A CompleteMultipartUpload of 10,000 parts has four elements per part. */
#define CF_XML_MAX_NODES 60000

/* Parses body into arena memory; *root is the document element. MalformedXML for anything
 * not well-formed, a DOCTYPE, an entity declaration, or a limit exceeded. */
cf_s3err cf_xml_parse(cf_arena *a, cf_str body, cf_xml_node **root);

/* First child element with that local name, or NULL. */
cf_xml_node *cf_xml_child(const cf_xml_node *n, const char *name);
/* Text of the first child with that name, trimmed of XML whitespace; .p NULL if absent. */
cf_str cf_xml_child_text(const cf_xml_node *n, const char *name);
size_t cf_xml_count(const cf_xml_node *n, const char *name); /* children with that name */

/* Writing. All return CF_ETOOBIG/CF_ENOMEM from the buffer, CF_OK otherwise. */
#define CF_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define CF_S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
/* <name>escaped text</name> */
cf_rc cf_xml_elem(cf_buf *b, const char *name, cf_str text);
cf_rc cf_xml_elem_c(cf_buf *b, const char *name, const char *text);
cf_rc cf_xml_elem_u64(cf_buf *b, const char *name, unsigned long long v);
cf_rc cf_xml_open(cf_buf *b, const char *name);  /* <name> */
cf_rc cf_xml_close(cf_buf *b, const char *name); /* </name> */

#endif
