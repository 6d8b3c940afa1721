build/asan/src/core/arena.o: src/core/arena.c src/core/arena.h \
 src/core/str.h
src/core/arena.h:
src/core/str.h:
