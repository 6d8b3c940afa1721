build/asan/src/http/http.o: src/http/http.c src/http/http.h \
 src/core/arena.h src/core/str.h src/core/buf.h src/core/rc.h \
 src/core/crypto.h src/core/log.h
src/http/http.h:
src/core/arena.h:
src/core/str.h:
src/core/buf.h:
src/core/rc.h:
src/core/crypto.h:
src/core/log.h:
