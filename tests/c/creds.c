/* Supplementary groups, fs ids and capabilities against native Linux
 * (run as root). Only facts that do not depend on the host's bounding
 * set are printed: single capabilities every root has, and the empty
 * sets of a non-root process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ESRCH: return "ESRCH";
    default: return "E?";
    }
}

static const char *r(long v) {
    return v < 0 ? en(errno) : "OK";
}

static void show_groups(const char *what) {
    gid_t g[16];
    int n = getgroups(16, g);
    printf("%s: %d groups:", what, n);
    for (int i = 0; i < n; i++)
        printf(" %u", g[i]);
    printf("\n");
}

static long capget_(unsigned version, int pid, struct __user_cap_data_struct *d, unsigned *out_version) {
    struct __user_cap_header_struct h = {version, pid};
    long v = syscall(SYS_capget, &h, d);
    if (out_version)
        *out_version = h.version;
    return v;
}

static void caps(const char *who) {
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    long v = capget_(_LINUX_CAPABILITY_VERSION_3, 0, d, NULL);
    int has_setuid = (d[0].effective >> CAP_SETUID) & 1, has_chown = (d[0].effective >> CAP_CHOWN) & 1;
    int has_40 = (d[1].permitted >> (40 - 32)) & 1, beyond = (d[1].permitted >> (41 - 32)) != 0;
    printf("%s: capget %s setuid %d chown %d cap40 %d beyond40 %d inheritable %u%u\n", who, r(v), has_setuid, has_chown, has_40, beyond,
           d[0].inheritable, d[1].inheritable);
    if (!has_setuid && !has_chown)
        printf("%s: effective %x %x permitted %x %x\n", who, d[0].effective, d[1].effective, d[0].permitted, d[1].permitted);
}

static int can_read(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Version negotiation. */
    unsigned ver = 0;
    struct __user_cap_data_struct d[2];
    long v = capget_(0x12345678, 0, NULL, &ver);
    printf("negotiate: %s version %#x\n", r(v), ver);
    v = capget_(0x12345678, 0, d, &ver);
    printf("bad version with data: %s version %#x\n", r(v), ver);
    v = capget_(_LINUX_CAPABILITY_VERSION_1, 0, d, NULL);
    printf("v1: %s setuid %d\n", r(v), (d[0].effective >> CAP_SETUID) & 1);
    printf("v2: %s\n", r(capget_(_LINUX_CAPABILITY_VERSION_2, 0, d, NULL)));
    printf("negative pid: %s\n", r(capget_(_LINUX_CAPABILITY_VERSION_3, -5, d, NULL)));
    caps("root");

    /* Supplementary groups. */
    gid_t set[4] = {42, 7, 1000, 7};
    printf("setgroups: %s\n", r(setgroups(4, set)));
    show_groups("after setgroups");
    gid_t small[2];
    printf("getgroups too small: %s\n", r(getgroups(2, small)));
    printf("getgroups count: %d\n", getgroups(0, NULL));
    printf("setgroups -1: %s\n", r(setgroups(1, (gid_t[]){(gid_t)-1})));
    printf("setgroups bad pointer: %s\n", r(syscall(SYS_setgroups, 2, (void *)8)));
    printf("setgroups huge: %s\n", r(syscall(SYS_setgroups, 70000, set)));

    /* fs ids follow the effective ones. */
    printf("setfsuid(1234) old %d\n", setfsuid(1234));
    caps("fsuid 1234");
    printf("setfsuid(-1) old %d\n", setfsuid(-1));
    printf("setfsuid(0) old %d\n", setfsuid(0));
    caps("fsuid 0");
    printf("setfsgid(99) old %d\n", setfsgid(99));
    printf("setfsgid(0) old %d\n", setfsgid(0));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* A shadow-group member may read /etc/shadow (mode 0640 root:shadow)
         * once it is no longer root. */
        setgroups(1, (gid_t[]){42});
        show_groups("child inherits");
        if (setgid(1000) || setuid(1000))
            printf("drop failed %s\n", en(errno));
        printf("child: /etc/shadow with group 42: %s\n", en(-can_read("/etc/shadow")));
        show_groups("child after setuid");
        printf("child: setgroups as user: %s\n", r(setgroups(0, NULL)));
        printf("child: setfsuid(0) old %d\n", setfsuid(0));
        printf("child: setfsuid(-1) old %d\n", setfsuid(-1));
        caps("user");
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct up[2] = {{1, 1, 0}, {0, 0, 0}};
        printf("user: capset raise %s\n", r(syscall(SYS_capset, &h, up)));
        memset(up, 0, sizeof up);
        printf("user: capset empty %s\n", r(syscall(SYS_capset, &h, up)));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    pid = fork();
    if (pid == 0) {
        setgroups(0, NULL);
        setgid(1000);
        setuid(1000);
        printf("child: /etc/shadow without group: %s\n", en(-can_read("/etc/shadow")));
        _exit(0);
    }
    waitpid(pid, &st, 0);

    /* prctl: keep-caps keeps the permitted set across leaving root. */
    printf("keepcaps: get %d, set 2 %s, capbset_read 7 %d, 41 %s, ambient is_set %d\n", prctl(PR_GET_KEEPCAPS), r(prctl(PR_SET_KEEPCAPS, 2)),
           prctl(PR_CAPBSET_READ, CAP_SETUID), r(prctl(PR_CAPBSET_READ, 41)), prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        printf("keepcaps: set %s\n", r(prctl(PR_SET_KEEPCAPS, 1)));
        printf("keepcaps: securebits %#x get %d\n", prctl(PR_GET_SECUREBITS), prctl(PR_GET_KEEPCAPS));
        printf("keepcaps: ambient raise without inheritable %s\n", r(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETUID, 0, 0)));
        setresuid(1000, 1000, 1000);
        struct __user_cap_data_struct k[2];
        capget_(_LINUX_CAPABILITY_VERSION_3, 0, k, NULL);
        printf("keepcaps: after setuid permitted setuid %d effective setuid %d\n", (k[0].permitted >> CAP_SETUID) & 1,
               (k[0].effective >> CAP_SETUID) & 1);
        printf("keepcaps: back to root %s\n", r(setuid(0)));
        k[0].effective |= 1u << CAP_SETUID;
        struct __user_cap_header_struct kh = {_LINUX_CAPABILITY_VERSION_3, 0};
        printf("keepcaps: raise effective %s\n", r(syscall(SYS_capset, &kh, k)));
        printf("keepcaps: setresuid(0) now %s\n", r(setresuid(0, 0, 0)));
        printf("keepcaps: uid %d\n", getuid());
        printf("capbset drop %s\n", r(prctl(PR_CAPBSET_DROP, CAP_CHOWN)));
        printf("capbset read %d\n", prctl(PR_CAPBSET_READ, CAP_CHOWN));
        _exit(0);
    }
    waitpid(pid, &st, 0);

    /* Root drops a capability with capset; raising it again fails. */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    memset(d, 0, sizeof d);
    syscall(SYS_capget, &h, d);
    d[0].effective &= ~(1u << CAP_SETUID);
    d[0].permitted &= ~(1u << CAP_SETUID);
    printf("root: capset drop %s\n", r(syscall(SYS_capset, &h, d)));
    caps("dropped");
    d[0].permitted |= 1u << CAP_SETUID;
    printf("root: capset raise again %s\n", r(syscall(SYS_capset, &h, d)));
    h.pid = 1;
    printf("root: capset other pid %s\n", r(syscall(SYS_capset, &h, d)));
    printf("creds: done\n");
    return 0;
}
