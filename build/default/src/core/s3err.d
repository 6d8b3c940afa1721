build/default/src/core/s3err.o: src/core/s3err.c src/core/s3err.h
src/core/s3err.h:
