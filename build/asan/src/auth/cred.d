build/asan/src/auth/cred.o: src/auth/cred.c src/auth/cred.h \
  src/core/arena.h src/core/str.h src/core/rc.h src/meta/meta.h \
  src/core/crypto.h src/core/log.h

src/auth/cred.h:

src/core/arena.h:

src/core/str.h:

src/core/rc.h:

src/meta/meta.h:

src/core/crypto.h:

src/core/log.h:
