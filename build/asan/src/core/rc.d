build/asan/src/core/rc.o: src/core/rc.c src/core/rc.h
src/core/rc.h:
