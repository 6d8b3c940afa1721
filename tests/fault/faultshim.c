/* An LD_PRELOAD fault injector for the end-to-end fault tests (tests/e2e/test_faults.py
 * builds it with cc into its temporary directory).
 *
 * FAULTSHIM_CTL names a control file the test rewrites while the server runs (replace it
 * with a rename: a new inode, size or mtime makes the shim re-read it and reset its
 * counters). Each line is one rule:
 *
 *     <op> <nth> <count> <errno name> <path prefix>
 *
 * op is write (write, pwrite, pwrite64, writev, pwritev), fsync (fsync, fdatasync),
 * rename (rename, renameat, renameat2) or create (open/openat with O_CREAT). Calls of the
 * op on a path under the prefix (an fd's path comes from /proc/self/fd) are counted; calls
 * nth .. nth+count-1 (count 0: every call from nth on) fail with the errno (EIO, ENOSPC,
 * EDQUOT, EROFS) without doing anything. Each injected failure is appended as a line
 * "<op> <function> <errno name> <path>" to <control file>.log, so a test can tell that
 * its fault fired. Without FAULTSHIM_CTL, or without the file, every call passes through.
 *
 * Under AddressSanitizer, preload the ASan runtime first ("libasan.so.N faultshim.so"):
 * ASan's interceptors then reach these functions as the "real" libc ones. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_RULES 16
#define CTL_MAX   8192

enum { OP_WRITE, OP_FSYNC, OP_RENAME, OP_CREATE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"write", "fsync", "rename", "create"};

typedef struct rule {
    int op;
    unsigned long nth, count, seen;
    int err;
    char prefix[PATH_MAX];
} rule;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rule rules[MAX_RULES];
static int nrules;
static bool have_ctl_stat;
static struct stat ctl_st;

/* ---- the real functions ---- */

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*fsync_fn)(int);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*renameat2_fn)(int, const char *, int, const char *, unsigned);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static void *real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        static const char msg[] = "faultshim: a libc symbol is missing\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
    return p;
}

/* A data pointer cannot be cast to a function pointer in ISO C: copy its bytes. The lazy
 * fill may race between threads, harmlessly (every thread stores the same value). */
#define REAL(type, name)                                                                           \
    static type real_##name;                                                                       \
    if (real_##name == NULL) {                                                                     \
        void *sym_ = real(#name);                                                                  \
        memcpy(&real_##name, &sym_, sizeof sym_);                                                  \
    }

/* ---- the control file ---- */

static int errno_of(const char *s)
{
    if (strcmp(s, "EIO") == 0)
        return EIO;
    if (strcmp(s, "ENOSPC") == 0)
        return ENOSPC;
    if (strcmp(s, "EDQUOT") == 0)
        return EDQUOT;
    if (strcmp(s, "EROFS") == 0)
        return EROFS;
    return 0;
}

static const char *errno_name(int e)
{
    switch (e) {
    case EIO:
        return "EIO";
    case ENOSPC:
        return "ENOSPC";
    case EDQUOT:
        return "EDQUOT";
    default:
        return "EROFS";
    }
}

static bool parse_ulong(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (ULONG_MAX - 9) / 10)
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *out = v;
    return true;
}

/* Splits the next space-separated field off *p (NUL-terminates it in place). */
static char *field(char **p)
{
    char *s = *p, *start;
    while (*s == ' ' || *s == '\t')
        s++;
    start = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return start;
}

static void parse_line(char *line)
{
    rule r;
    char *p = line, *op, *nth, *count, *err, *prefix;
    int i;

    memset(&r, 0, sizeof r);
    op = field(&p);
    nth = field(&p);
    count = field(&p);
    err = field(&p);
    while (*p == ' ' || *p == '\t')
        p++;
    prefix = p; /* the rest of the line: a path may hold spaces */
    r.op = -1;
    for (i = 0; i < OP_COUNT; i++)
        if (strcmp(op, op_names[i]) == 0)
            r.op = i;
    if (r.op < 0 || !parse_ulong(nth, &r.nth) || r.nth == 0 || !parse_ulong(count, &r.count) ||
        (r.err = errno_of(err)) == 0 || strlen(prefix) >= sizeof r.prefix || nrules == MAX_RULES)
        return;
    memcpy(r.prefix, prefix, strlen(prefix) + 1);
    rules[nrules++] = r;
}

/* Re-reads the control file if it changed. Caller holds mu. */
static void reload(const char *ctl)
{
    REAL(open_fn, open);
    struct stat st;
    char buf[CTL_MAX + 1];
    size_t len = 0;
    int fd;

    if (stat(ctl, &st) != 0) {
        nrules = 0;
        have_ctl_stat = false;
        return;
    }
    if (have_ctl_stat && st.st_ino == ctl_st.st_ino && st.st_size == ctl_st.st_size &&
        st.st_mtim.tv_sec == ctl_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == ctl_st.st_mtim.tv_nsec)
        return;
    ctl_st = st;
    have_ctl_stat = true;
    nrules = 0;
    fd = real_open(ctl, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (len < CTL_MAX) {
        ssize_t k = read(fd, buf + len, CTL_MAX - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = '\0';
    for (char *line = buf, *nl; *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        else
            nl = line + strlen(line);
        if (*line && *line != '#')
            parse_line(line);
    }
}

static void log_fault(const char *ctl, const char *op, const char *fn, int err, const char *path)
{
    REAL(open_fn, open);
    char logpath[PATH_MAX], line[PATH_MAX + 64];
    int fd, n;

    if (snprintf(logpath, sizeof logpath, "%s.log", ctl) >= (int)sizeof logpath)
        return;
    n = snprintf(line, sizeof line, "%s %s %s %s\n", op, fn, errno_name(err), path);
    if (n < 0 || n >= (int)sizeof line)
        return;
    fd = real_open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    syscall(SYS_write, fd, line, (size_t)n);
    close(fd);
}

static bool under(const char *path, const char *prefix)
{
    return strncmp(path, prefix, strlen(prefix)) == 0;
}

/* 0, or the errno the call must fail with. path is the call's (absolute) path. */
static int decide(int op, const char *fn, const char *path)
{
    const char *ctl = getenv("FAULTSHIM_CTL");
    int err = 0;
    if (ctl == NULL || *ctl == '\0' || path == NULL)
        return 0;
    pthread_mutex_lock(&mu);
    reload(ctl);
    for (int i = 0; i < nrules && err == 0; i++) {
        rule *r = &rules[i];
        if (r->op != op || !under(path, r->prefix))
            continue;
        r->seen++;
        if (r->seen >= r->nth && (r->count == 0 || r->seen < r->nth + r->count))
            err = r->err;
    }
    if (err != 0)
        log_fault(ctl, op_names[op], fn, err, path);
    pthread_mutex_unlock(&mu);
    return err;
}

/* Is any rule for op loaded? Lets the common case skip the path lookups. */
static bool armed(int op)
{
    const char *ctl = getenv("FAULTSHIM_CTL");
    bool yes = false;
    if (ctl == NULL || *ctl == '\0')
        return false;
    pthread_mutex_lock(&mu);
    reload(ctl);
    for (int i = 0; i < nrules; i++)
        if (rules[i].op == op)
            yes = true;
    pthread_mutex_unlock(&mu);
    return yes;
}

static bool fd_path(int fd, char out[PATH_MAX])
{
    char link[64];
    ssize_t n;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, out, PATH_MAX - 1);
    if (n <= 0)
        return false;
    out[n] = '\0';
    return true;
}

/* dirfd + path as an absolute path (not normalised: the test uses plain paths). */
static bool at_path(int dirfd, const char *path, char out[PATH_MAX])
{
    char dir[PATH_MAX];
    if (path == NULL)
        return false;
    if (path[0] == '/') {
        if (strlen(path) >= PATH_MAX)
            return false;
        memcpy(out, path, strlen(path) + 1);
        return true;
    }
    if (dirfd == AT_FDCWD) {
        if (getcwd(dir, sizeof dir) == NULL)
            return false;
    } else if (!fd_path(dirfd, dir)) {
        return false;
    }
    return snprintf(out, PATH_MAX, "%s/%s", dir, path) < PATH_MAX;
}

static int fd_fault(int op, const char *fn, int fd)
{
    char path[PATH_MAX];
    if (!armed(op) || !fd_path(fd, path))
        return 0;
    return decide(op, fn, path);
}

static int at_fault(int op, const char *fn, int dirfd, const char *p)
{
    char path[PATH_MAX];
    if (!armed(op) || !at_path(dirfd, p, path))
        return 0;
    return decide(op, fn, path);
}

/* ---- write ---- */

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write_fn, write);
    int e = fd_fault(OP_WRITE, "write", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite_fn, pwrite);
    int e = fd_fault(OP_WRITE, "pwrite", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite_fn, pwrite64);
    int e = fd_fault(OP_WRITE, "pwrite64", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev_fn, writev);
    int e = fd_fault(OP_WRITE, "writev", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev_fn, pwritev);
    int e = fd_fault(OP_WRITE, "pwritev", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_pwritev(fd, iov, cnt, off);
}

/* ---- fsync ---- */

int fsync(int fd)
{
    REAL(fsync_fn, fsync);
    int e = fd_fault(OP_FSYNC, "fsync", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fsync_fn, fdatasync);
    int e = fd_fault(OP_FSYNC, "fdatasync", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return real_fdatasync(fd);
}

/* ---- rename ---- */

int rename(const char *from, const char *to)
{
    REAL(rename_fn, rename);
    int e = at_fault(OP_RENAME, "rename", AT_FDCWD, from);
    if (e) {
        errno = e;
        return -1;
    }
    return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    REAL(renameat_fn, renameat);
    int e = at_fault(OP_RENAME, "renameat", fromfd, from);
    if (e) {
        errno = e;
        return -1;
    }
    return real_renameat(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
    REAL(renameat2_fn, renameat2);
    int e = at_fault(OP_RENAME, "renameat2", fromfd, from);
    if (e) {
        errno = e;
        return -1;
    }
    return real_renameat2(fromfd, from, tofd, to, flags);
}

/* ---- create ---- */

static mode_t mode_arg(int flags, va_list ap)
{
    bool has_mode = (flags & O_CREAT) != 0;
#ifdef O_TMPFILE
    has_mode = has_mode || (flags & O_TMPFILE) == O_TMPFILE;
#endif
    return has_mode ? (mode_t)va_arg(ap, unsigned) : 0;
}

int open(const char *path, int flags, ...)
{
    REAL(open_fn, open);
    va_list ap;
    mode_t mode;
    int e = 0;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if (flags & O_CREAT)
        e = at_fault(OP_CREATE, "open", AT_FDCWD, path);
    if (e) {
        errno = e;
        return -1;
    }
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    REAL(open_fn, open64);
    va_list ap;
    mode_t mode;
    int e = 0;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if (flags & O_CREAT)
        e = at_fault(OP_CREATE, "open64", AT_FDCWD, path);
    if (e) {
        errno = e;
        return -1;
    }
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(openat_fn, openat);
    va_list ap;
    mode_t mode;
    int e = 0;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if (flags & O_CREAT)
        e = at_fault(OP_CREATE, "openat", dirfd, path);
    if (e) {
        errno = e;
        return -1;
    }
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    REAL(openat_fn, openat64);
    va_list ap;
    mode_t mode;
    int e = 0;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    if (flags & O_CREAT)
        e = at_fault(OP_CREATE, "openat64", dirfd, path);
    if (e) {
        errno = e;
        return -1;
    }
    return real_openat64(dirfd, path, flags, mode);
}
