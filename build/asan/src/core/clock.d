build/asan/src/core/clock.o: src/core/clock.c src/core/clock.h \
 src/core/str.h
src/core/clock.h:
src/core/str.h:
