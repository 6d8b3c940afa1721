/* The small set of return codes every layer below s3/admin speaks. */
#ifndef COFFER_CORE_RC_H
#define COFFER_CORE_RC_H

typedef enum cf_rc {
    CF_OK = 0,
    CF_ENOMEM,    /* allocation failed */
    CF_EINVAL,    /* malformed input */
    CF_ETOOBIG,   /* a hard limit was hit */
    CF_ENOTFOUND, /* no such thing */
    CF_EEXIST,    /* already exists */
    CF_ENOTEMPTY, /* container still has children */
    CF_ECONFLICT, /* a precondition or concurrent change failed */
    CF_ENOSPC,    /* storage full */
    CF_EIO,       /* storage or system failure */
} cf_rc;

/* Static string naming the code, for logs. */
const char *cf_rc_str(cf_rc rc);

#endif
