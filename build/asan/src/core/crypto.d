build/asan/src/core/crypto.o: src/core/crypto.c src/core/crypto.h \
 src/core/rc.h src/core/str.h
src/core/crypto.h:
src/core/rc.h:
src/core/str.h:
