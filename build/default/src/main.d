build/default/src/main.o: src/main.c src/auth/cred.h src/core/arena.h \
 src/core/str.h src/core/rc.h src/meta/meta.h src/blob/blob_fs.h \
 src/blob/blob.h src/core/clock.h src/core/config.h src/core/log.h \
 src/http/http.h src/core/buf.h src/meta/meta_sqlite.h src/s3/s3.h \
 src/auth/authn.h src/auth/cred.h src/auth/sigv4.h src/core/s3err.h \
 src/http/http.h
src/auth/cred.h:
src/core/arena.h:
src/core/str.h:
src/core/rc.h:
src/meta/meta.h:
src/blob/blob_fs.h:
src/blob/blob.h:
src/core/clock.h:
src/core/config.h:
src/core/log.h:
src/http/http.h:
src/core/buf.h:
src/meta/meta_sqlite.h:
src/s3/s3.h:
src/auth/authn.h:
src/auth/cred.h:
src/auth/sigv4.h:
src/core/s3err.h:
src/http/http.h:
