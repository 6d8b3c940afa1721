/* The lifecycle sweeper: one background thread that applies the buckets' Enabled lifecycle
 * rules (expiring objects, aborting stale multipart uploads) by the injectable clock
 * (cf_now_ms), every interval. */
#ifndef COFFER_S3_LIFECYCLE_H
#define COFFER_S3_LIFECYCLE_H

#include "s3/s3.h"

typedef struct cf_s3_lifecycle cf_s3_lifecycle;

/* Starts the thread; the first sweep runs after min(interval_s, 60) seconds, the next ones
 * every interval_s (at least 1). s3 must outlive it. NULL and a log line on failure. */
cf_s3_lifecycle *cf_s3_lifecycle_start(cf_s3 *s3, unsigned interval_s);
/* Stops (a sweep in progress ends after the object at hand), joins and frees; NULL is a
 * no-op. */
void cf_s3_lifecycle_stop(cf_s3_lifecycle *lc);

#endif
