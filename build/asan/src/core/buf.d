build/asan/src/core/buf.o: src/core/buf.c src/core/buf.h src/core/rc.h \
 src/core/str.h
src/core/buf.h:
src/core/rc.h:
src/core/str.h:
