// File syscalls, checked against native Linux: each line of output is a
// result (a value or an errno name), so a difference pinpoints the call.
// Run in an empty scratch directory, which it leaves empty.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s = %ld\n", what, r);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    char buf[256];
    umask(022);
    int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0666);
    show("open creat", fd >= 0);
    show("open excl again", open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0666));
    show("write", write(fd, "hello world\n", 12));
    struct stat st;
    show("fstat", fstat(fd, &st));
    printf("mode %o size %ld\n", st.st_mode, (long)st.st_size);

    // dup shares the offset; the close-on-exec bit is per descriptor.
    int d = dup(fd);
    show("lseek set", lseek(fd, 6, SEEK_SET));
    show("read via dup", read(d, buf, 5));
    printf("got %.5s\n", buf);
    show("offset seen by original", lseek(fd, 0, SEEK_CUR));
    int c = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    show("dupfd_cloexec fd", c);
    show("getfd cloexec", fcntl(c, F_GETFD));
    show("getfd plain", fcntl(d, F_GETFD));
    show("dup2", dup2(fd, 20));
    show("dup3 same", dup3(20, 20, 0));
    show("dup3 bad flags", dup3(fd, 21, 1));
    show("getfl", fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND));
    show("setfl append", fcntl(fd, F_SETFL, O_APPEND));
    show("lseek 0", lseek(fd, 0, SEEK_SET));
    show("append write", write(fd, "more\n", 5));
    show("offset after append", lseek(d, 0, SEEK_CUR));
    show("pread", pread(fd, buf, 5, 0));
    printf("got %.5s\n", buf);
    show("lseek end", lseek(fd, -3, SEEK_END));
    show("lseek negative", lseek(fd, -100, SEEK_SET));
    show("ftruncate", ftruncate(fd, 4));
    show("size after truncate", lseek(fd, 0, SEEK_END));
    close(c);
    close(20);
    show("close twice", close(20));
    show("read closed", read(20, buf, 1));
    char *volatile bad = (char *)8; // hides the bad pointer from gcc's checks
    show("read to a bad buffer", read(fd, bad, 2));
    show("offset unchanged by the failed read", lseek(fd, 0, SEEK_CUR));
    show("pread bad offset", pread(fd, buf, 1, -1));
    show("write from a bad buffer", write(fd, bad, 2));

    // A private file mapping is a copy; a shared read-only one sees the file.
    show("pwrite", pwrite(fd, "ABCDEFGH", 8, 0));
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    show("mmap private", p != MAP_FAILED);
    printf("mapped %.8s tail %d\n", p, p[100]);
    p[0] = 'z';
    show("pread after private write", pread(fd, buf, 1, 0));
    printf("file still %c, map %c\n", buf[0], p[0]);
    char *s = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    show("mmap shared", s != MAP_FAILED);
    printf("shared %.8s\n", s);
    show("munmap", munmap(p, 8192));
    show("munmap shared", munmap(s, 4096));
    show("mmap bad fd", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 55, 0));
    int wo = open("a.txt", O_WRONLY);
    show("mmap write-only fd", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0));
    close(wo);
    close(fd);
    close(d);

    // Names.
    show("mkdir", mkdir("sub", 0755));
    show("mkdir again", mkdir("sub", 0755));
    show("symlink", symlink("../a.txt", "sub/link"));
    show("readlink", readlink("sub/link", buf, sizeof buf));
    printf("target %.8s\n", buf);
    show("open via link", (fd = open("sub/link", O_RDONLY)) >= 0);
    close(fd);
    show("open nofollow", open("sub/link", O_RDONLY | O_NOFOLLOW));
    show("open directory on file", open("a.txt", O_RDONLY | O_DIRECTORY));
    show("open dir for write", open("sub", O_WRONLY));
    show("open trailing slash file", open("a.txt/", O_RDONLY));
    show("link", link("a.txt", "sub/hard"));
    show("stat nlink", stat("a.txt", &st) == 0 ? (long)st.st_nlink : -1);
    show("lstat link type", lstat("sub/link", &st) == 0 ? (long)S_ISLNK(st.st_mode) : -1);
    show("rename", rename("sub/hard", "sub/moved"));
    show("rename missing", rename("sub/nope", "sub/x"));
    show("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, "sub/moved", AT_FDCWD, "a.txt", 1));
    show("access x", access("a.txt", X_OK));
    show("chmod", chmod("a.txt", 0755));
    show("access x after chmod", access("a.txt", X_OK));
    show("stat mode", stat("a.txt", &st) == 0 ? (long)(st.st_mode & 07777) : -1);
    show("rmdir nonempty", rmdir("sub"));
    show("unlink dir", unlink("sub"));

    // Directory listing through an fd, and *at calls relative to it.
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    show("open dir", dfd >= 0);
    show("fstatat", fstatat(dfd, "moved", &st, 0) == 0 ? (long)st.st_size : -1);
    show("openat relative", (fd = openat(dfd, "moved", O_RDONLY)) >= 0);
    close(fd);
    DIR *dir = fdopendir(dup(dfd));
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < 16) names[n++] = strdup(e->d_name);
    qsort(names, n, sizeof *names, cmp_names);
    for (int i = 0; i < n; i++) printf("entry %s\n", names[i]);
    closedir(dir);
    show("fchdir", fchdir(dfd));
    show("getcwd tail", getcwd(buf, sizeof buf) ? (long)strlen(strrchr(buf, '/')) : -1);
    printf("cwd ends %s\n", strrchr(buf, '/'));
    show("getcwd small", getcwd(buf, 2) ? 0 : -1);
    show("chdir ..", chdir(".."));
    show("unlinkat", unlinkat(dfd, "moved", 0));
    show("unlinkat link", unlinkat(dfd, "link", 0));
    close(dfd);
    show("unlinkat removedir", unlinkat(AT_FDCWD, "sub", AT_REMOVEDIR));
    show("truncate", truncate("a.txt", 2));
    struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
    show("utimensat", utimensat(AT_FDCWD, "a.txt", ts, 0));
    stat("a.txt", &st);
    printf("atime %ld.%ld mtime %ld.%ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
    show("utimensat omit", utimensat(AT_FDCWD, "a.txt", omit, 0));
    stat("a.txt", &st);
    printf("atime %ld mtime %ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec bad_ns[2] = {{0, 1000000000}, {0, 0}};
    show("utimensat bad nsec", utimensat(AT_FDCWD, "a.txt", bad_ns, 0));
    show("unlink", unlink("a.txt"));
    show("unlink missing", unlink("a.txt"));
    show("stat missing", stat("nope/x", &st));
    show("getdents bad fd", syscall(SYS_getdents64, 99, buf, sizeof buf));

    // An open file outlives its name.
    fd = open("gone", O_CREAT | O_RDWR | O_APPEND, 0600);
    show("write before unlink", write(fd, "12345", 5));
    show("unlink open file", unlink("gone"));
    show("fstat unlinked", fstat(fd, &st) == 0 ? (long)st.st_nlink * 100 + st.st_size : -1);
    show("append after unlink", write(fd, "678", 3));
    show("pread after unlink", pread(fd, buf, 8, 0));
    struct iovec iov[2] = {{buf + 100, 3}, {buf + 110, 10}};
    show("preadv", preadv(fd, iov, 2, 1));
    printf("got %.3s|%.4s\n", buf + 100, buf + 110);
    show("fallocate grows", fallocate(fd, 0, 0, 20) == 0 ? (long)lseek(fd, 0, SEEK_END) : -1);
    show("fallocate keep size", fallocate(fd, 1, 0, 40));
    printf("got %.8s\n", buf);
    show("fstatat empty path", fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 ? (long)st.st_size : -1);
    show("ftruncate unlinked", ftruncate(fd, 2));
    show("fchmod unlinked", fchmod(fd, 0640));
    show("fstat after both", fstat(fd, &st) == 0 ? (long)(st.st_mode & 0777) * 1000 + st.st_size : -1);
    close(fd);

    // Pipes.
    int pp[2];
    show("pipe2", pipe2(pp, O_CLOEXEC | O_NONBLOCK));
    show("pipe cloexec", fcntl(pp[0], F_GETFD));
    show("pipe fl", fcntl(pp[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK));
    show("read empty nonblocking", read(pp[0], buf, 10));
    struct pollfd pf[2] = {{pp[0], POLLIN, 0}, {pp[1], POLLOUT, 0}};
    show("poll", poll(pf, 2, 0));
    printf("revents %d %d\n", pf[0].revents, pf[1].revents);
    show("pipe write", write(pp[1], "through", 7));
    show("poll again", poll(pf, 2, -1));
    printf("revents %d %d\n", pf[0].revents, pf[1].revents);
    show("fstat pipe", fstat(pp[0], &st) == 0 ? (long)S_ISFIFO(st.st_mode) : -1);
    show("lseek pipe", lseek(pp[0], 0, SEEK_SET));
    show("pipe read", read(pp[0], buf, 100));
    close(pp[1]);
    show("read after writer closed", read(pp[0], buf, 100));
    show("poll hup", poll(pf, 1, 0));
    printf("revents %d\n", pf[0].revents);
    close(pp[0]);
    show("pipe2 bad flags", pipe2(pp, O_APPEND));
    return 0;
}
