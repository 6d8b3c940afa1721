build/default/src/core/str.o: src/core/str.c src/core/str.h
src/core/str.h:
