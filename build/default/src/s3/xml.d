build/default/src/s3/xml.o: src/s3/xml.c src/s3/xml.h src/core/arena.h \
 src/core/str.h src/core/buf.h src/core/rc.h src/core/s3err.h
src/s3/xml.h:
src/core/arena.h:
src/core/str.h:
src/core/buf.h:
src/core/rc.h:
src/core/s3err.h:
