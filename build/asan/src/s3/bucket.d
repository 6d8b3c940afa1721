build/asan/src/s3/bucket.o: src/s3/bucket.c src/core/clock.h \
  src/core/str.h src/core/log.h src/s3/s3_int.h src/auth/chunked.h \
  src/core/arena.h src/core/s3err.h src/core/checksum.h \
  src/core/crypto.h src/core/rc.h src/s3/s3.h src/auth/authn.h \
  src/auth/cred.h src/meta/meta.h src/auth/sigv4.h src/core/buf.h \
  src/blob/blob.h src/http/http.h src/s3/xml.h

src/core/clock.h:

src/core/str.h:

src/core/log.h:

src/s3/s3_int.h:

src/auth/chunked.h:

src/core/arena.h:

src/core/s3err.h:

src/core/checksum.h:

src/core/crypto.h:

src/core/rc.h:

src/s3/s3.h:

src/auth/authn.h:

src/auth/cred.h:

src/meta/meta.h:

src/auth/sigv4.h:

src/core/buf.h:

src/blob/blob.h:

src/http/http.h:

src/s3/xml.h:
