build/default/src/auth/authn.o: src/auth/authn.c src/auth/authn.h \
 src/auth/cred.h src/core/arena.h src/core/str.h src/core/rc.h \
 src/meta/meta.h src/auth/sigv4.h src/core/buf.h src/core/s3err.h \
 src/core/log.h
src/auth/authn.h:
src/auth/cred.h:
src/core/arena.h:
src/core/str.h:
src/core/rc.h:
src/meta/meta.h:
src/auth/sigv4.h:
src/core/buf.h:
src/core/s3err.h:
src/core/log.h:
