build/asan/src/auth/sigv4.o: src/auth/sigv4.c src/auth/sigv4.h \
  src/core/arena.h src/core/str.h src/core/buf.h src/core/rc.h \
  src/core/s3err.h src/core/clock.h src/core/crypto.h

src/auth/sigv4.h:

src/core/arena.h:

src/core/str.h:

src/core/buf.h:

src/core/rc.h:

src/core/s3err.h:

src/core/clock.h:

src/core/crypto.h:
