/* Memory shared between processes, against native Linux: vfork and
 * clone(CLONE_VM) children writing into their parent's memory, posix_spawn
 * reporting a failed exec, MAP_SHARED anonymous memory across fork
 * (counters, process-shared mutexes and semaphores), MAP_SHARED file
 * mappings (msync, read(2) after a mapping's write, two processes on one
 * file, ftruncate growth). Every line printed must match the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int written_by_child;

static int clone_child(void *arg) {
    written_by_child = *(int *)arg;
    return 0;
}

static int status_of(pid_t pid) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void shared_vm(void) {
    pid_t pid;
    char *argv[] = {"nothing", NULL};
    int r = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv, environ);
    printf("posix_spawn missing: %s\n", r ? strerror(r) : "success");
    if (r == 0)
        printf("  child status %d\n", status_of(pid));
    r = posix_spawn(&pid, "/", NULL, NULL, argv, environ);
    printf("posix_spawn directory: %s\n", r ? strerror(r) : "success");
    if (r == 0)
        printf("  child status %d\n", status_of(pid));

    written_by_child = 0;
    pid = vfork();
    if (pid == 0) {
        written_by_child = 42;
        _exit(3);
    }
    printf("vfork: child wrote %d, status %d\n", written_by_child, status_of(pid));

    written_by_child = 0;
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    int value = 7;
    pid = clone(clone_child, stack + size, CLONE_VM | SIGCHLD, &value);
    int st = status_of(pid);
    printf("clone(CLONE_VM): child wrote %d, status %d\n", written_by_child, st);
    free(stack);
}

static sigjmp_buf bus_jump;
static volatile int bus_code;
static char *volatile bus_addr;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    bus_code = si->si_code;
    bus_addr = si->si_addr;
    siglongjmp(bus_jump, 1);
}

/* Touch `p`: "no signal" or the SIGBUS's si_code and address (from `base`). */
static void touch(const char *what, char *p, char *base) {
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, &old);
    if (sigsetjmp(bus_jump, 1) == 0) {
        *(volatile char *)p = 1;
        printf("%s: no signal\n", what);
    } else {
        printf("%s: SIGBUS code %d at +%ld\n", what, bus_code, (long)(bus_addr - base));
    }
    sigaction(SIGBUS, &old, NULL);
}

struct shared {
    pthread_mutex_t lock;
    sem_t ready, done;
    long counter;
    int value;
};

static void shared_anon(void) {
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return perror("mmap");
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &ma);
    sem_init(&s->ready, 1, 0);
    sem_init(&s->done, 1, 0);
    enum { KIDS = 3, ROUNDS = 2000 };
    pid_t kids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            for (int i = 0; i < ROUNDS; i++) {
                pthread_mutex_lock(&s->lock);
                s->counter++;
                pthread_mutex_unlock(&s->lock);
                if (i % 500 == 0)
                    sched_yield();
            }
            _exit(0);
        }
    }
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&s->lock);
        s->counter++;
        pthread_mutex_unlock(&s->lock);
    }
    int st = 0;
    for (int k = 0; k < KIDS; k++)
        st += status_of(kids[k]);
    printf("shared counter %ld (statuses %d)\n", s->counter, st);

    /* The parent waits on a semaphore a child posts after a while. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        s->value = 1234;
        sem_post(&s->ready);
        sem_wait(&s->done);
        _exit(s->value == 4321 ? 0 : 1);
    }
    sem_wait(&s->ready);
    printf("semaphore: child set %d\n", s->value);
    s->value = 4321;
    sem_post(&s->done);
    printf("semaphore: child status %d\n", status_of(pid));

    /* MADV_DONTNEED keeps shared memory's contents. */
    s->value = 99;
    madvise(s, 4096, MADV_DONTNEED);
    printf("after MADV_DONTNEED: %d\n", s->value);
    munmap(s, sizeof *s);

    /* mremap moves a shared mapping and it stays shared across fork. */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(m, "first page");
    char *to = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *g = mremap(m, 3 * 4096, 3 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    if (g == MAP_FAILED)
        return perror("mremap");
    pid = fork();
    if (pid == 0) {
        strcpy(g + 2 * 4096, "third page");
        g[0] = 'F';
        munmap(g, 3 * 4096);
        _exit(0);
    }
    st = status_of(pid);
    printf("mremap: '%s' '%s' status %d\n", g, g + 2 * 4096, st);

    /* mremap with old_size 0 maps the same shared pages again. */
    char *dup = mremap(g, 0, 4096, MREMAP_MAYMOVE);
    printf("mremap dup: %s", dup == MAP_FAILED ? strerror(errno) : dup);
    if (dup != MAP_FAILED) {
        dup[0] = 'D';
        printf(" -> '%s'\n", g);
    } else {
        printf("\n");
    }
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    dup = mremap(priv, 0, 4096, MREMAP_MAYMOVE);
    printf("mremap dup private: %s\n", dup == MAP_FAILED ? strerror(errno) : "mapped");
    dup = mremap(g, 0, 4096, 0);
    printf("mremap dup without MAYMOVE: %s\n", dup == MAP_FAILED ? strerror(errno) : "mapped");

    /* Growing shared anonymous memory with mremap: the new pages are past
     * the end of the object. */
    char *s1 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *s3 = mremap(s1, 4096, 3 * 4096, MREMAP_MAYMOVE);
    touch("grown shared memory, old page", s3 + 10, s3);
    touch("grown shared memory, new page", s3 + 2 * 4096 + 10, s3);
    munmap(s3, 3 * 4096);

    /* MAP_SHARED of /dev/zero is new shared memory, one per mmap. */
    int zfd = open("/dev/zero", O_RDWR);
    int *z1 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zfd, 0);
    int *z2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zfd, 0);
    close(zfd);
    pid = fork();
    if (pid == 0) {
        z1[0] = 11;
        z2[0] = 22;
        _exit(0);
    }
    st = status_of(pid);
    printf("/dev/zero shared: %d %d status %d\n", z1[0], z2[0], st);
}

static char dir[] = "/tmp/oxvm-shm-XXXXXX";

static int make_file(const char *name, size_t size, char fill) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[4096];
    memset(buf, fill, sizeof buf);
    for (size_t done = 0; done < size; done += sizeof buf)
        write(fd, buf, size - done < sizeof buf ? size - done : sizeof buf);
    return fd;
}

static void show(int fd, off_t off, size_t n) {
    char buf[64] = {0};
    ssize_t r = pread(fd, buf, n, off);
    printf("  pread %ld @%ld: '%.*s'\n", (long)r, (long)off, (int)(r > 0 ? r : 0), buf);
}

static void shared_files(void) {
    if (!mkdtemp(dir))
        return perror("mkdtemp");
    /* A child writes a shared mapping and msyncs; the parent reads(2). */
    int fd = make_file("a", 8192, 'x');
    pid_t pid = fork();
    if (pid == 0) {
        char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        memcpy(m + 100, "hello", 5);
        memcpy(m + 5000, "world", 5);
        int r = msync(m, 8192, MS_SYNC);
        _exit(r == 0 ? 0 : 1);
    }
    printf("msync child: status %d\n", status_of(pid));
    show(fd, 98, 9);
    show(fd, 4998, 9);

    /* Without msync: munmap (or exit) writes back. */
    pid = fork();
    if (pid == 0) {
        char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        memcpy(m + 200, "unmapped", 8);
        munmap(m, 8192);
        m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        memcpy(m + 300, "exited", 6);
        _exit(0);
    }
    printf("munmap/exit child: status %d\n", status_of(pid));
    show(fd, 200, 8);
    show(fd, 300, 6);

    /* Two processes mapping one file each see the other's writes; a
     * process-shared semaphore in the file orders them. */
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sem_t *sem = (sem_t *)(m + 4096);
    sem_init(sem, 1, 0);
    pid = fork();
    if (pid == 0) {
        int fd2 = open(dir, O_RDONLY);
        (void)fd2;
        char path[256];
        snprintf(path, sizeof path, "%s/a", dir);
        int f = open(path, O_RDWR);
        char *c = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
        sem_wait((sem_t *)(c + 4096));
        memcpy(c + 400, c + 500, 6);
        _exit(0);
    }
    usleep(20000);
    memcpy(m + 500, "parent", 6);
    sem_post(sem);
    printf("two mappings: status %d, parent sees '%.6s'\n", status_of(pid), m + 400);

    /* write(2) shows up in the mapping. */
    pwrite(fd, "WRITE", 5, 600);
    printf("pwrite seen by the mapping: '%.5s'\n", m + 600);

    /* A private mapping reads what the shared one wrote, and keeps its
     * own writes. */
    memcpy(m + 800, "shared", 6);
    char *pm = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private sees '%.6s'", pm + 800);
    memcpy(m + 800, "SHARED", 6);
    printf(" then '%.6s'", pm + 800);
    memcpy(pm + 800, "mine!!", 6);
    memcpy(m + 806, "++", 2);
    printf(", after its write '%.8s', shared '%.8s'\n", pm + 800, m + 800);
    munmap(pm, 8192);

    /* copy_file_range sees the mapping's writes; its destination's
     * mapping sees the copy. */
    memcpy(m + 700, "copied", 6);
    int c = make_file("c", 4096, '-');
    char *cm = mmap(NULL, 4096, PROT_READ, MAP_SHARED, c, 0);
    loff_t in = 700, out = 10;
    ssize_t n = copy_file_range(fd, &in, c, &out, 6, 0);
    printf("copy_file_range %ld: mapping of the copy '%.8s'\n", (long)n, cm + 9);
    munmap(cm, 4096);
    close(c);
    munmap(m, 8192);

    /* Read-only descriptors. */
    char path[256];
    snprintf(path, sizeof path, "%s/a", dir);
    int ro = open(path, O_RDONLY);
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("shared writable map of O_RDONLY: %s\n", w == MAP_FAILED ? strerror(errno) : "mapped");
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    printf("mprotect it writable: %s\n", mprotect(r, 4096, PROT_READ | PROT_WRITE) ? strerror(errno) : "ok");
    printf("read-only shared map sees '%.5s'\n", r + 100);
    munmap(r, 4096);
    close(ro);

    /* mmap beyond the end, then grow the file with ftruncate. */
    int g = make_file("b", 0, 0);
    char *b = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
    ftruncate(g, 8192);
    memcpy(b + 4096 + 10, "grown", 5);
    msync(b, 3 * 4096, MS_SYNC);
    struct stat st;
    fstat(g, &st);
    printf("ftruncate growth: size %ld\n", (long)st.st_size);
    show(g, 4096 + 10, 5);
    ftruncate(g, 4096 + 12);
    ftruncate(g, 8192);
    printf("shrunk and grown again: '%.5s' (%d)\n", b + 4096 + 10, b[4096 + 13]);
    printf("msync flags: %s\n", msync(b, 4096, MS_SYNC | MS_ASYNC) ? strerror(errno) : "ok");
    munmap(b + 2 * 4096, 4096);
    printf("msync unmapped: %s\n", msync(b + 2 * 4096, 4096, MS_SYNC) ? strerror(errno) : "ok");
    munmap(b, 2 * 4096);

    /* Pages written again after a write-back are written back again, in
     * whichever process wrote them. */
    int r2 = make_file("r", 4096, 'r');
    char *rm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, r2, 0);
    memcpy(rm, "one", 3);
    msync(rm, 4096, MS_SYNC);
    memcpy(rm + 3, "two", 3);
    pid = fork();
    if (pid == 0) {
        memcpy(rm + 6, "three", 5);
        msync(rm, 4096, MS_SYNC);
        memcpy(rm + 11, "four", 4);
        _exit(0);
    }
    status_of(pid);
    show(r2, 0, 16);
    memcpy(rm + 15, "five", 4);
    show(r2, 0, 20);
    munmap(rm, 4096);
    close(r2);
    snprintf(path, sizeof path, "%s/r", dir);
    unlink(path);

    /* write(2) at the position and with O_APPEND show in a mapping whose
     * pages are already cached. */
    int w5 = make_file("w", 5000, 'w');
    char *wm = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, w5, 0);
    printf("before: %d %d", wm[900], wm[5000]);
    lseek(w5, 900, SEEK_SET);
    write(w5, "seek", 4);
    snprintf(path, sizeof path, "%s/w", dir);
    int ap = open(path, O_WRONLY | O_APPEND);
    write(ap, "tail", 4);
    close(ap);
    printf(", after: '%.4s' '%.4s'\n", wm + 900, wm + 5000);
    munmap(wm, 2 * 4096);
    close(w5);
    unlink(path);

    /* A page wholly past the end of the file is a SIGBUS. */
    int h = make_file("h", 100, 'h');
    char *hm = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, h, 0);
    touch("past the end", hm + 4096 + 5, hm);
    printf("last page: '%c' %d\n", hm[99], hm[100]);
    munmap(hm, 2 * 4096);
    /* Private mappings too: zeroes after the end within the last page, a
     * SIGBUS for reads and writes of pages wholly beyond it. */
    char *hp = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, h, 0);
    touch("private past the end", hp + 2 * 4096, hp);
    touch("private last page", hp + 200, hp);
    printf("private last page: '%c' %d\n", hp[99], hp[100]);
    munmap(hp, 3 * 4096);
    close(h);

    snprintf(path, sizeof path, "%s/a", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/h", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/b", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/c", dir);
    unlink(path);
    rmdir(dir);
}

/* POSIX named semaphores: files in /dev/shm mapped shared by each
 * process, futexes keyed by the file's page. */
static void named_semaphores(void) {
    char name[64];
    snprintf(name, sizeof name, "/oxvm-shm-test-%d", (int)getpid());
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (s == SEM_FAILED)
        return perror("sem_open");
    pid_t pid = fork();
    if (pid == 0) {
        sem_t *c = sem_open(name, 0);
        usleep(20000);
        sem_post(c);
        _exit(c == SEM_FAILED);
    }
    sem_wait(s);
    int v = -1;
    sem_getvalue(s, &v);
    printf("sem_open: woken, value %d\n", v);
    printf("sem_open: child status %d\n", status_of(pid));
    sem_close(s);
    sem_unlink(name);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    shared_vm();
    shared_anon();
    shared_files();
    named_semaphores();
    return 0;
}
