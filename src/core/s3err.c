#include "core/s3err.h"

#include <stddef.h>

/* Indexed by cf_s3err; slot 0 is CF_S3_OK. */
static const struct {
    const char *code;
    const char *msg;
    int status;
} table[CF_S3_ERR_COUNT] = {{"OK", "OK", 200},
#define ROW(code, status, msg) {#code, msg, status},
                            CF_S3_ERRMAP(ROW)
#undef ROW
};

static int valid(cf_s3err e)
{
    return (int)e >= 0 && (int)e < CF_S3_ERR_COUNT;
}

const char *cf_s3err_code(cf_s3err e)
{
    return valid(e) ? table[e].code : "InternalError";
}

const char *cf_s3err_message(cf_s3err e)
{
    return valid(e) ? table[e].msg : table[CF_S3_InternalError].msg;
}

int cf_s3err_status(cf_s3err e)
{
    return valid(e) ? table[e].status : 500;
}
