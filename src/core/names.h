/* Naming rules shared by the S3 and admin APIs. */
#ifndef COFFER_CORE_NAMES_H
#define COFFER_CORE_NAMES_H

#include <stdbool.h>

#include "core/str.h"

/* S3's general purpose bucket naming rules (3..63 of a-z 0-9 . -, ...). */
bool cf_bucket_name_valid(cf_str name);

#endif
