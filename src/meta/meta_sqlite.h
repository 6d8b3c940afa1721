/* The embedded metadata backend: one SQLite database (WAL) in the data directory. */
#ifndef COFFER_META_META_SQLITE_H
#define COFFER_META_META_SQLITE_H

#include <stdbool.h>

#include "meta/meta.h"

/* Opens (creating and migrating as needed) the database at path. fsync false sets
 * synchronous=OFF: a power loss may drop recent commits (a process crash does not).
 * Returns NULL and logs on failure. Free with m->ops->close(m). */
cf_meta *cf_meta_sqlite_open(const char *path, bool fsync);

#endif
