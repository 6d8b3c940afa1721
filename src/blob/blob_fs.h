/* The embedded blob backend: one file per blob under <dir>/blobs/ab/cd/<id>, staged in
 * <dir>/staging/<id>. */
#ifndef COFFER_BLOB_BLOB_FS_H
#define COFFER_BLOB_BLOB_FS_H

#include <stdbool.h>

#include "blob/blob.h"

/* Creates the directories as needed. fsync false skips fsync of files and directories:
 * a power loss may lose recent blobs (a process crash does not). NULL and a log line on
 * failure. Free with s->ops->close(s). */
cf_blob_store *cf_blob_fs_open(const char *dir, bool fsync);

#endif
