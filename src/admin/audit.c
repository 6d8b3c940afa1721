/* GET /v1/audit: the audit log, filtered by credential and time, paginated by seq. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "admin/admin_int.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT     1000

/* Stored text as a JSON string; bytes that are not UTF-8 (an S3 key can be anything) become
 * '?' rather than failing the whole answer. */
static json_t *text(cf_arena *a, cf_str s)
{
    if (cf_utf8_valid(s))
        return json_stringn(s.p != NULL ? s.p : "", s.len);
    char *c = cf_arena_strndup(a, s.p, s.len);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)c[i] >= 0x80 || c[i] == '\0')
            c[i] = '?';
    return json_stringn(c, s.len);
}

static json_t *text_or_null(cf_arena *a, cf_str s)
{
    return s.len > 0 ? text(a, s) : json_null();
}

static json_t *event_json(cf_arena *a, const cf_audit_row *r)
{
    json_error_t jerr;
    json_t *detail = r->detail.len ? json_loadb(r->detail.p, r->detail.len, 0, &jerr) : NULL;
    if (!json_is_object(detail)) {
        json_decref(detail);
        detail = json_null();
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "seq", (json_int_t)r->seq, "time",
                     cf_admin_time(r->time_ms), "actor", text_or_null(a, r->actor), "action",
                     text(a, r->action), "target", text(a, r->target), "source_ip",
                     text(a, r->source_ip), "outcome", text(a, r->outcome), "detail", detail);
}

/* An RFC 3339 bound; absent or empty leaves *ms 0 and *given false. */
static bool query_time(cf_admin_req *q, const char *name, int64_t *ms, bool *given)
{
    cf_str v = cf_admin_query(q, name);
    *ms = 0;
    *given = v.len > 0;
    if (!*given || cf_time_parse_iso8601(v, ms))
        return true;
    cf_admin_error(q, 400, "invalid_request", name,
                   "%s must be an RFC 3339 UTC time such as 2030-01-02T03:04:05Z.", name);
    return false;
}

/* The query parameters into f (all but the credential); *empty when nothing can match. */
static bool ask_filter(cf_admin_req *q, cf_audit_filter *f, bool *empty)
{
    cf_str cursor = cf_admin_query(q, "cursor"), lim = cf_admin_query(q, "limit");
    uint64_t v = DEFAULT_LIMIT;
    bool has_since, has_until;
    if (!query_time(q, "since", &f->since_ms, &has_since) ||
        !query_time(q, "until", &f->until_ms, &has_until))
        return false;
    /* until is exclusive and 0 means no bound: a bound at or before the epoch matches nothing. */
    *empty = has_until && f->until_ms <= 0;
    if (lim.len > 0 && (!cf_str_to_u64(lim, &v) || v < 1 || v > MAX_LIMIT)) {
        cf_admin_error(q, 400, "invalid_request", "limit", "limit must be an integer from 1 to %d.",
                       MAX_LIMIT);
        return false;
    }
    f->limit = (uint32_t)v;
    v = 0;
    if (cursor.len > 0 && (!cf_str_to_u64(cursor, &v) || v > INT64_MAX)) {
        cf_admin_error(q, 400, "invalid_request", "cursor",
                       "cursor must be the next_cursor of a previous answer.");
        return false;
    }
    f->after_seq = (int64_t)v;
    return true;
}

/* The parent recorded when id was created (its first CreateCredential event); false if the
 * log does not say. */
static bool created_under(cf_admin_req *q, cf_str id, cf_str *parent)
{
    cf_audit_filter f = {.credential = id, .limit = 20};
    cf_audit_row *rows = NULL;
    size_t n = 0;
    if (cf_meta_call(q->ad->meta, audit_query, &f, q->arena, &rows, &n) != CF_OK)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        if (!cf_str_eq_c(rows[i].action, "admin:CreateCredential") ||
            !cf_str_eq_c(rows[i].outcome, "ok") || !cf_str_eq(rows[i].target, id))
            continue;
        json_t *d = json_loadb(rows[i].detail.p, rows[i].detail.len, 0, &jerr);
        json_t *p = json_object_get(d, "parent_id");
        *parent =
            json_is_string(p)
                ? cf_arena_str(q->arena, cf_str_make(json_string_value(p), json_string_length(p)))
                : CF_STR_NULL;
        json_decref(d);
        return parent->len > 0;
    }
    return false;
}

/* Whether the caller may read the events of id: id is in its subtree or, once deleted, was
 * (judged by the parents recorded at creation), so who revoked it stays answerable. Answers
 * 404 or 500 otherwise. */
static bool filter_allowed(cf_admin_req *q, cf_str id)
{
    const cf_cred_row *me = &q->principal.chain[0];
    cf_str cur = id;
    for (size_t depth = 0; depth <= CF_MAX_CHAIN; depth++) {
        cf_cred_row row;
        bool in = false;
        cf_rc rc = cf_meta_call(q->ad->meta, cred_in_subtree, me->id, cur, &in);
        if (rc == CF_OK && !in)
            rc = cf_meta_call(q->ad->meta, cred_get, cur, q->arena, &row);
        if (rc == CF_OK && in)
            return true;
        if (rc != CF_OK && rc != CF_ENOTFOUND) {
            cf_admin_error(q, 500, "internal", NULL, "Credential lookup failed.");
            return false;
        }
        /* It exists outside the caller's subtree, or it is gone without a trace. */
        if (rc == CF_OK || !created_under(q, cur, &cur))
            break;
    }
    cf_admin_error(q, 404, "not_found", "credential", "No credential %.*s in your tree.",
                   CF_STR_FMT(id));
    return false;
}

void cf_admin_audit_list(cf_admin_req *q)
{
    cf_audit_filter f;
    cf_audit_row *rows = NULL;
    size_t n = 0;
    bool empty = false;
    const cf_cred_row *me = &q->principal.chain[0];
    cf_str cred = cf_admin_query(q, "credential");
    memset(&f, 0, sizeof f);
    if (!ask_filter(q, &f, &empty))
        return;
    if (cred.len > 0 && !filter_allowed(q, cred))
        return;
    const char *arn = cf_arena_printf(q->arena, "arn:coffer:admin:::credential/%.*s",
                                      CF_STR_FMT(cred.len > 0 ? cred : me->id));
    if (arn == NULL) {
        cf_admin_error(q, 500, "internal", NULL, "Out of memory.");
        return;
    }
    if (!cf_admin_allowed(q, "admin:GetAudit", arn))
        return;
    /* Without a filter a credential sees its own events; the root sees everything. */
    f.credential = cred.len > 0 ? cred : me->parent_id.len > 0 ? me->id : CF_STR_NULL;
    cf_rc rc = empty ? CF_OK : cf_meta_call(q->ad->meta, audit_query, &f, q->arena, &rows, &n);
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Cannot read the audit log: %s.", cf_rc_str(rc));
        return;
    }
    json_t *events = json_array();
    for (size_t i = 0; events != NULL && i < n; i++)
        if (json_array_append_new(events, event_json(q->arena, &rows[i])) != 0) {
            json_decref(events);
            events = NULL;
        }
    json_t *next = json_null();
    if (n > 0 && n == f.limit) {
        char seq[24];
        snprintf(seq, sizeof seq, "%lld", (long long)rows[n - 1].seq);
        next = json_string(seq);
    }
    cf_admin_json(q, 200, json_pack("{s:o, s:o}", "events", events, "next_cursor", next));
}
