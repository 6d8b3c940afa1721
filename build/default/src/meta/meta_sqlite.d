build/default/src/meta/meta_sqlite.o: src/meta/meta_sqlite.c \
 src/meta/meta_sqlite.h src/meta/meta.h src/core/arena.h src/core/str.h \
 src/core/rc.h src/core/buf.h src/core/clock.h src/core/log.h
src/meta/meta_sqlite.h:
src/meta/meta.h:
src/core/arena.h:
src/core/str.h:
src/core/rc.h:
src/core/buf.h:
src/core/clock.h:
src/core/log.h:
