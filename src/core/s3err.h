/* Every S3 error coffer can answer: one table (code, HTTP status, message) generates the
 * enum, the lookup and, in s3/, the error XML. auth/ returns these too, so they live in core. */
#ifndef COFFER_CORE_S3ERR_H
#define COFFER_CORE_S3ERR_H

#define CF_S3_ERRMAP(X)                                                                            \
    X(AccessDenied, 403, "Access Denied")                                                          \
    X(AccessForbidden, 403, "CORSResponse: This CORS request is not allowed.")                     \
    X(AccountProblem, 403, "There is a problem with your account that prevents the operation.")    \
    X(AuthorizationHeaderMalformed, 400, "The authorization header is malformed.")                 \
    X(AuthorizationQueryParametersError, 400, "Error parsing the X-Amz-Credential parameter.")     \
    X(BadDigest, 400, "The Content-MD5 or checksum you specified did not match what we received.") \
    X(BadRequest, 400, "Bad Request")                                                              \
    X(BucketAlreadyExists, 409,                                                                    \
      "The requested bucket name is not available. The bucket namespace is shared by all users "   \
      "of the system. Please select a different name and try again.")                              \
    X(BucketAlreadyOwnedByYou, 409,                                                                \
      "Your previous request to create the named bucket succeeded and you already own it.")        \
    X(BucketNotEmpty, 409, "The bucket you tried to delete is not empty")                          \
    X(EntityTooLarge, 400, "Your proposed upload exceeds the maximum allowed size")                \
    X(EntityTooSmall, 400, "Your proposed upload is smaller than the minimum allowed object size.") \
    X(ExpiredToken, 400, "The provided token has expired.")                                        \
    X(IllegalLocationConstraintException, 400,                                                     \
      "The specified location-constraint is not valid for this server.")                           \
    X(IncompleteBody, 400, "You did not provide the number of bytes specified by the "             \
                           "Content-Length HTTP header.")                                          \
    X(IncorrectNumberOfFilesInPostRequest, 400,                                                    \
      "POST requires exactly one file upload per request.")                                        \
    /* Not an AWS code (S3 never fills up): WebDAV's 507, which SDKs do not retry. */              \
    X(InsufficientStorage, 507,                                                                    \
      "There is not enough free space on the server to store this data. Delete objects or add "    \
      "storage, then try again.")                                                                  \
    X(InternalError, 500, "We encountered an internal error. Please try again.")                   \
    X(InvalidAccessKeyId, 403,                                                                     \
      "The AWS Access Key Id you provided does not exist in our records.")                         \
    X(InvalidArgument, 400, "Invalid Argument")                                                    \
    X(InvalidBucketName, 400, "The specified bucket is not valid.")                                \
    X(InvalidChunkSizeError, 403, "Only the last chunk is allowed to have a size less than 8192 bytes") \
    X(InvalidDigest, 400, "The Content-MD5 or checksum you specified is not valid.")               \
    X(InvalidPart, 400, "One or more of the specified parts could not be found.")                  \
    X(InvalidPartNumber, 416, "The requested partnumber is not satisfiable")                       \
    X(InvalidPartOrder, 400, "The list of parts was not in ascending order.")                      \
    X(InvalidPolicyDocument, 400,                                                                  \
      "The content of the form does not meet the conditions specified in the policy document.")   \
    X(InvalidRange, 416, "The requested range is not satisfiable")                                 \
    X(InvalidRequest, 400, "Invalid Request")                                                      \
    X(InvalidStorageClass, 400, "The storage class you specified is not valid")                    \
    X(InvalidTag, 400, "The tag provided was not a valid tag.")                                    \
    X(InvalidURI, 400, "Couldn't parse the specified URI.")                                       \
    X(InvalidToken, 400, "The provided token is malformed or otherwise invalid.")                  \
    X(KeyTooLongError, 400, "Your key is too long")                                                \
    X(MalformedPOSTRequest, 400,                                                                   \
      "The body of your POST request is not well-formed multipart/form-data.")                     \
    X(MalformedXML, 400, "The XML you provided was not well-formed or did not validate "           \
                         "against our published schema")                                           \
    X(MaxMessageLengthExceeded, 400, "Your request was too big.")                                  \
    X(MaxPostPreDataLengthExceededError, 400,                                                      \
      "Your POST request fields preceding the upload file were too large.")                        \
    X(MetadataTooLarge, 400, "Your metadata headers exceed the maximum allowed metadata size.")    \
    X(MethodNotAllowed, 405, "The specified method is not allowed against this resource.")         \
    X(MissingContentLength, 411, "You must provide the Content-Length HTTP header.")               \
    X(MissingSecurityHeader, 400, "Your request is missing a required header.")                    \
    X(NoSuchBucket, 404, "The specified bucket does not exist")                                    \
    X(NoSuchCORSConfiguration, 404, "The CORS configuration does not exist")                       \
    X(NoSuchKey, 404, "The specified key does not exist.")                                         \
    X(NoSuchLifecycleConfiguration, 404, "The lifecycle configuration does not exist")             \
    X(NoSuchTagSet, 404, "The TagSet does not exist")                                              \
    X(NoSuchUpload, 404, "The specified multipart upload does not exist.")                         \
    X(NotImplemented, 501, "A header you provided implies functionality that is not implemented")  \
    X(NotModified, 304, "Not Modified")                                                            \
    X(OperationAborted, 409,                                                                       \
      "A conflicting conditional operation is currently in progress against this resource. "       \
      "Please try again.")                                                                         \
    X(PreconditionFailed, 412, "At least one of the pre-conditions you specified did not hold")    \
    X(QuotaExceeded, 403, "The bucket quota has been exceeded.")                                   \
    X(RequestTimeout, 400, "Your socket connection to the server was not read from or written "    \
                           "to within the timeout period.")                                        \
    X(RequestTimeTooSkewed, 403,                                                                   \
      "The difference between the request time and the server's time is too large.")              \
    X(ServiceUnavailable, 503, "Please reduce your request rate.")                                 \
    X(SignatureDoesNotMatch, 403,                                                                  \
      "The request signature we calculated does not match the signature you provided. "            \
      "Check your key and signing method.")                                                        \
    X(SlowDown, 503, "Please reduce your request rate.")                                           \
    X(XAmzContentSHA256Mismatch, 400,                                                              \
      "The provided 'x-amz-content-sha256' header does not match what was computed.")

typedef enum cf_s3err {
    CF_S3_OK = 0,
#define CF_S3ERR_ENUM(code, status, msg) CF_S3_##code,
    CF_S3_ERRMAP(CF_S3ERR_ENUM)
#undef CF_S3ERR_ENUM
        CF_S3_ERR_COUNT
} cf_s3err;

/* Static strings / status for an error; CF_S3_OK gives "OK", 200. */
const char *cf_s3err_code(cf_s3err e);
const char *cf_s3err_message(cf_s3err e);
int cf_s3err_status(cf_s3err e);

#endif
