build/asan/src/blob/blob_fs.o: src/blob/blob_fs.c src/blob/blob_fs.h \
 src/blob/blob.h src/core/rc.h src/meta/meta.h src/core/arena.h \
 src/core/str.h src/core/crypto.h src/core/log.h
src/blob/blob_fs.h:
src/blob/blob.h:
src/core/rc.h:
src/meta/meta.h:
src/core/arena.h:
src/core/str.h:
src/core/crypto.h:
src/core/log.h:
