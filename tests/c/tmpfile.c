/* O_TMPFILE: unnamed files, named later with linkat (through /proc or
 * AT_EMPTY_PATH), O_EXCL ones never; the errors Linux gives. Run in /tmp
 * (the host directory root under oxvm) and /dev/shm (tmpfs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW(label, call)                                                   \
    do {                                                                    \
        errno = 0;                                                          \
        long r_ = (long)(call);                                             \
        printf("%s: %s errno=%d\n", label, r_ < 0 ? "-1" : "ok", r_ < 0 ? errno : 0); \
    } while (0)

static void in(const char *dir)
{
    printf("== %s\n", dir);
    int fd = open(dir, O_TMPFILE | O_RDWR, 0666);
    if (fd < 0) {
        printf("open: errno=%d\n", errno);
        return;
    }
    write(fd, "hello", 5);
    struct stat st;
    fstat(fd, &st);
    printf("nlink %lu mode %o size %ld\n", (unsigned long)st.st_nlink, st.st_mode, (long)st.st_size);
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("fd link: starts with dir/# %d, deleted %d\n", strncmp(target, dir, strlen(dir)) == 0 && target[strlen(dir)] == '/' && target[strlen(dir) + 1] == '#',
           n > 10 && strcmp(target + n - 10, " (deleted)") == 0);
    char name[256], name2[256];
    snprintf(name, sizeof name, "%s/oxvm-tmpfile-a-%d", dir, getpid());
    snprintf(name2, sizeof name2, "%s/oxvm-tmpfile-b-%d", dir, getpid());
    SHOW("linkat via /proc", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    stat(name, &st);
    printf("named: nlink %lu size %ld\n", (unsigned long)st.st_nlink, (long)st.st_size);
    SHOW("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, name2, AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("two names: nlink %lu\n", (unsigned long)st.st_nlink);
    char buf[16] = {0};
    int r = open(name2, O_RDONLY);
    read(r, buf, sizeof buf - 1);
    printf("content %s\n", buf);
    close(r);
    unlink(name);
    unlink(name2);
    close(fd);

    int ex = open(dir, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    snprintf(link, sizeof link, "/proc/self/fd/%d", ex);
    SHOW("O_EXCL linkat", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    close(ex);
    /* A file that was removed cannot come back either. */
    int gone = open(name, O_CREAT | O_RDWR, 0600);
    unlink(name);
    snprintf(link, sizeof link, "/proc/self/fd/%d", gone);
    SHOW("removed file linkat", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
    close(gone);
    SHOW("O_RDONLY", open(dir, O_TMPFILE | O_RDONLY, 0600));
    char file[256];
    snprintf(file, sizeof file, "%s/oxvm-tmpfile-f-%d", dir, getpid());
    close(open(file, O_CREAT | O_WRONLY, 0600));
    SHOW("on a file", open(file, O_TMPFILE | O_RDWR, 0600));
    unlink(file);
    SHOW("missing dir", open("/nonexistent-dir", O_TMPFILE | O_RDWR, 0600));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    in("/tmp");
    in("/dev/shm");
    printf("done\n");
    return 0;
}
