build/asan/src/core/checksum.o: src/core/checksum.c src/core/checksum.h \
 src/core/crypto.h src/core/rc.h src/core/str.h
src/core/checksum.h:
src/core/crypto.h:
src/core/rc.h:
src/core/str.h:
