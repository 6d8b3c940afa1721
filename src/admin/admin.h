/* The credentials API (JSON over HTTP, bearer tokens) on its own listener. */
#ifndef COFFER_ADMIN_ADMIN_H
#define COFFER_ADMIN_ADMIN_H

#include "auth/cred.h"
#include "blob/blob.h"
#include "http/http.h"
#include "meta/meta.h"

typedef struct cf_admin {
    cf_meta *meta;
    cf_blob_store *blob;
    const cf_keyring *keyring;
    const char *region;
} cf_admin;

/* Fills h with callbacks serving the API from ad (which must outlive the server). */
void cf_admin_handler(cf_admin *ad, cf_http_handler *h);

/* Prints "METHOD PATTERN" for every route, one per line (for the OpenAPI check). */
void cf_admin_print_routes(void);

#endif
