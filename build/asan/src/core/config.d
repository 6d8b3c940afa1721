build/asan/src/core/config.o: src/core/config.c src/core/config.h \
  src/core/buf.h src/core/rc.h src/core/str.h src/core/log.h

src/core/config.h:

src/core/buf.h:

src/core/rc.h:

src/core/str.h:

src/core/log.h:
