/* Measurement aid, never for production: shows what libmicrohttpd's 128 KiB sendfile chunk
 * costs on GET 1 MiB (README, Benchmark, "what holds back").
 *
 * Preloaded into cofferd, it turns each of libmicrohttpd's 128 KiB sendfile() calls on a
 * regular file into one call for the rest of the file, and uncorks the socket after a call
 * that sent it all (libmicrohttpd, having asked for 128 KiB, would leave it corked for up to
 * 200 ms). libmicrohttpd then counts the extra bytes as sent and ends the response. It relies
 * on that library's internals and on a body running to the end of the file (no ranges).
 *
 *   cc -O2 -shared -fPIC -o /tmp/sendfile_whole.so bench/diag/sendfile_whole.c -ldl
 *   printf '#!/bin/sh\nLD_PRELOAD=/tmp/sendfile_whole.so exec %s/bin/cofferd "$@"\n' \
 *       "$PWD" > /tmp/cofferd-whole && chmod +x /tmp/cofferd-whole
 *   /usr/bin/python3 bench/run.py --cofferd /tmp/cofferd-whole --cases get1m --fsync never
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MHD_CHUNK 131072 /* libmicrohttpd 0.9.75's MHD_SENFILE_CHUNK_ */

typedef ssize_t (*sendfile_fn)(int, int, off_t *, size_t);

ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
    static sendfile_fn real;
    struct stat st;
    int whole = 0;
    ssize_t n;

    if (real == NULL)
        real = (sendfile_fn)dlsym(RTLD_NEXT, "sendfile64");
    if (count == MHD_CHUNK && off != NULL && fstat(in, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > *off) {
        count = (size_t)(st.st_size - *off);
        whole = 1;
    }
    n = real(out, in, off, count);
    if (whole && n == (ssize_t)count) {
        int zero = 0;
        setsockopt(out, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    }
    return n;
}

ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    return sendfile64(out, in, off, count);
}
