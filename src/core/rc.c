#include "core/rc.h"

const char *cf_rc_str(cf_rc rc)
{
    switch (rc) {
    case CF_OK:
        return "ok";
    case CF_ENOMEM:
        return "out of memory";
    case CF_EINVAL:
        return "invalid input";
    case CF_ETOOBIG:
        return "too big";
    case CF_ENOTFOUND:
        return "not found";
    case CF_EEXIST:
        return "already exists";
    case CF_ENOTEMPTY:
        return "not empty";
    case CF_ECONFLICT:
        return "conflict";
    case CF_ENOSPC:
        return "no space";
    case CF_EIO:
        return "i/o error";
    }
    return "unknown error";
}
