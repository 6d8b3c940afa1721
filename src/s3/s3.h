/* The S3 REST API on top of the HTTP glue. */
#ifndef COFFER_S3_S3_H
#define COFFER_S3_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/authn.h"
#include "blob/blob.h"
#include "http/http.h"
#include "meta/meta.h"

typedef struct cf_s3 {
    cf_meta *meta;
    cf_blob_store *blob;
    cf_auth auth;
    const char *region; /* as configured; "auto" accepts any signed region */
    const char *domain; /* virtual-host base domain, or "" */
    uint64_t max_object_size;
} cf_s3;

/* Fills h with callbacks serving S3 from s3 (which must outlive the server). */
void cf_s3_handler(cf_s3 *s3, cf_http_handler *h);

#endif
