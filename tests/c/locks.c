/* Advisory locks and named pipes across processes: flock, POSIX and OFD
 * record locks, and FIFO open/read/write. Output must match native Linux
 * line for line (no pids, times or paths are printed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/oxvm-locks-XXXXXX";
static char path[256], fifo[256];

static const char *err(int r) { return r == 0 ? "ok" : strerror(errno); }

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void getlk(int fd, int cmd, short type, off_t start, off_t len, pid_t expect) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl) < 0) {
        printf("  getlk: %s\n", strerror(errno));
        return;
    }
    if (fl.l_type == F_UNLCK)
        printf("  getlk [%ld,+%ld): unlocked\n", (long)start, (long)len);
    else
        printf("  getlk [%ld,+%ld): %s lock at %ld len %ld, pid %s\n", (long)start, (long)len, fl.l_type == F_WRLCK ? "write" : "read",
               (long)fl.l_start, (long)fl.l_len, fl.l_pid == expect ? "as expected" : fl.l_pid == -1 ? "-1" : "other");
}

static void sync_wait(int rfd) {
    char c;
    if (read(rfd, &c, 1) != 1) exit(9);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    if (write(fd, "0123456789", 10) != 10) return 1;

    printf("flock:\n");
    int fd2 = open(path, O_RDWR);
    printf("  LOCK_EX: %s\n", err(flock(fd, LOCK_EX)));
    printf("  second description LOCK_SH|LOCK_NB: %s\n", err(flock(fd2, LOCK_SH | LOCK_NB)));
    int dupfd = dup(fd);
    printf("  dup shares it, LOCK_SH|NB: %s\n", err(flock(dupfd, LOCK_SH | LOCK_NB)));
    close(dupfd);
    printf("  still held after closing the dup: %s\n", err(flock(fd2, LOCK_EX | LOCK_NB)));
    printf("  LOCK_UN: %s\n", err(flock(fd, LOCK_UN)));
    printf("  now second: %s\n", err(flock(fd2, LOCK_EX | LOCK_NB)));
    close(fd2);
    printf("  closing releases: %s\n", err(flock(fd, LOCK_EX | LOCK_NB)));
    flock(fd, LOCK_UN);
    printf("  bad op: %s\n", err(flock(fd, 77)));
    printf("  bad fd: %s\n", err(flock(-1, LOCK_EX)));

    printf("flock across fork, blocking:\n");
    int p[2];
    if (pipe(p)) return 1;
    flock(fd, LOCK_EX);
    pid_t c = fork();
    if (c == 0) {
        int f = open(path, O_RDWR);
        printf("  child NB: %s\n", err(flock(f, LOCK_EX | LOCK_NB)));
        if (write(p[1], "x", 1) != 1) _exit(1);
        printf("  child blocking: %s\n", err(flock(f, LOCK_EX)));
        _exit(0);
    }
    sync_wait(p[0]);
    usleep(50000);
    printf("  parent unlocks\n");
    flock(fd, LOCK_UN);
    int st;
    waitpid(c, &st, 0);
    printf("  child status %d\n", WEXITSTATUS(st));

    printf("posix record locks:\n");
    pid_t me = getpid();
    printf("  write [0,5): %s\n", err(setlk(fd, F_SETLK, F_WRLCK, 0, 5)));
    printf("  read [7,+inf): %s\n", err(setlk(fd, F_SETLK, F_RDLCK, 7, 0)));
    getlk(fd, F_GETLK, F_WRLCK, 0, 10, me);
    c = fork();
    if (c == 0) {
        getlk(fd, F_GETLK, F_WRLCK, 2, 1, me);
        getlk(fd, F_GETLK, F_RDLCK, 8, 100, me);
        getlk(fd, F_GETLK, F_WRLCK, 8, 100, me);
        getlk(fd, F_GETLK, F_WRLCK, 5, 2, me);
        printf("  child write [5,7): %s\n", err(setlk(fd, F_SETLK, F_WRLCK, 5, 2)));
        printf("  child write [4,6): %s\n", err(setlk(fd, F_SETLK, F_WRLCK, 4, 2)));
        printf("  child read [9,10): %s\n", err(setlk(fd, F_SETLK, F_RDLCK, 9, 1)));
        if (write(p[1], "x", 1) != 1) _exit(1);
        printf("  child waits for [0,1)\n");
        printf("  child SETLKW: %s\n", err(setlk(fd, F_SETLKW, F_WRLCK, 0, 1)));
        _exit(0);
    }
    sync_wait(p[0]);
    usleep(50000);
    printf("  parent unlocks [0,3)\n");
    setlk(fd, F_SETLK, F_UNLCK, 0, 3);
    waitpid(c, &st, 0);
    printf("  child status %d; its locks went with it\n", WEXITSTATUS(st));
    getlk(fd, F_GETLK, F_WRLCK, 5, 2, me);

    printf("posix locks go on any close:\n");
    int other = open(path, O_RDONLY);
    close(other);
    c = fork();
    if (c == 0) {
        getlk(fd, F_GETLK, F_WRLCK, 0, 0, me);
        _exit(0);
    }
    waitpid(c, &st, 0);

    printf("argument errors:\n");
    int ro = open(path, O_RDONLY);
    printf("  write lock on read-only fd: %s\n", err(setlk(ro, F_SETLK, F_WRLCK, 0, 1)));
    printf("  bad type: %s\n", err(setlk(fd, F_SETLK, 9, 0, 1)));
    printf("  negative start: %s\n", err(setlk(fd, F_SETLK, F_RDLCK, -5, 1)));
    struct flock bad = {.l_type = F_RDLCK, .l_whence = 7};
    printf("  bad whence: %s\n", err(fcntl(fd, F_SETLK, &bad)));
    printf("  bad pointer: %s\n", err(fcntl(fd, F_SETLK, (void *)8)));
    close(ro);

    printf("ofd locks:\n");
    int a = open(path, O_RDWR), b = open(path, O_RDWR);
    printf("  a write [0,4): %s\n", err(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 4)));
    printf("  b write [2,3): %s\n", err(setlk(b, F_OFD_SETLK, F_WRLCK, 2, 1)));
    getlk(b, F_OFD_GETLK, F_RDLCK, 0, 10, -1);
    struct flock withpid = {.l_type = F_RDLCK, .l_pid = 1};
    printf("  l_pid set: %s\n", err(fcntl(a, F_OFD_SETLK, &withpid)));
    printf("  posix lock of this process vs ofd: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, 1, 1)));
    close(a);
    printf("  after closing a, b: %s\n", err(setlk(b, F_OFD_SETLK, F_WRLCK, 2, 1)));
    close(b);

    printf("fifo:\n");
    printf("  mkfifo: %s\n", err(mkfifo(fifo, 0600)));
    printf("  again: %s\n", err(mkfifo(fifo, 0600)));
    struct stat sb;
    stat(fifo, &sb);
    printf("  S_ISFIFO %d mode %o\n", S_ISFIFO(sb.st_mode), sb.st_mode & 0777);
    int w = open(fifo, O_WRONLY | O_NONBLOCK);
    printf("  nonblocking writer without reader: %s\n", w < 0 ? strerror(errno) : "opened");
    int r = open(fifo, O_RDONLY | O_NONBLOCK);
    printf("  nonblocking reader: %s\n", r < 0 ? strerror(errno) : "opened");
    char buf[64];
    ssize_t n = read(r, buf, sizeof buf);
    printf("  read with no writer: %zd\n", n);
    close(r);
    c = fork();
    if (c == 0) {
        int wf = open(fifo, O_WRONLY);
        printf("  child opened for writing\n");
        if (write(wf, "through the fifo", 16) != 16) _exit(1);
        close(wf);
        _exit(0);
    }
    usleep(30000);
    r = open(fifo, O_RDONLY);
    n = read(r, buf, sizeof buf);
    printf("  parent read %zd: %.*s\n", n, (int)n, buf);
    waitpid(c, &st, 0);
    n = read(r, buf, sizeof buf);
    printf("  then %zd (end of file)\n", n);
    close(r);
    int rw = open(fifo, O_RDWR);
    n = write(rw, "self", 4);
    n = read(rw, buf, sizeof buf);
    printf("  O_RDWR loops back %zd: %.*s\n", n, (int)n, buf);
    close(rw);
    printf("  mknod char dev as user: %s\n", getuid() == 0 ? "skipped (root)" : err(mknod(path, S_IFCHR | 0600, makedev(1, 3))));
    printf("  mknod dir: %s\n", err(mknod(fifo, S_IFDIR | 0700, 0)));

    unlink(fifo);
    unlink(path);
    rmdir(dir);
    printf("done\n");
    return 0;
}
