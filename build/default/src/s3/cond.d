build/default/src/s3/cond.o: src/s3/cond.c src/s3/cond.h src/core/str.h \
 src/core/clock.h
src/s3/cond.h:
src/core/str.h:
src/core/clock.h:
