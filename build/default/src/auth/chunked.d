build/default/src/auth/chunked.o: src/auth/chunked.c src/auth/chunked.h \
 src/core/arena.h src/core/str.h src/core/s3err.h src/core/buf.h \
 src/core/rc.h src/core/clock.h src/core/crypto.h
src/auth/chunked.h:
src/core/arena.h:
src/core/str.h:
src/core/s3err.h:
src/core/buf.h:
src/core/rc.h:
src/core/clock.h:
src/core/crypto.h:
