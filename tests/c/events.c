/* Event descriptors and signal waiting, run natively and under oxvm:
   output must match line by line. Nothing printed depends on pids,
   times or addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERR(x) ((x) < 0 ? strerrorname_np(errno) : "ok")

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void ms_sleep(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Print what one epoll_wait returns: count and (events, data) pairs. */
static void show(const char *what, int ep, int max, int timeout) {
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, max, timeout);
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", strerrorname_np(errno));
    for (int i = 0; i < n; i++)
        printf(" [%#x %llu]", ev[i].events, (unsigned long long)ev[i].data.u64);
    printf("\n");
}

static int add(int ep, int fd, unsigned events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void epoll_modes(void) {
    int p[2], q[2];
    char buf[64];
    pipe(p);
    pipe(q);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("cloexec: %d\n", (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
    add(ep, p[0], EPOLLIN, 1);
    add(ep, q[1], EPOLLOUT, 2);
    show("lt empty", ep, 8, 0);
    write(p[1], "abc", 3);
    show("lt ready", ep, 8, 0);
    show("lt again", ep, 8, 0);
    show("lt max1 a", ep, 1, 0);
    show("lt max1 b", ep, 1, 0);
    read(p[0], buf, 3);
    show("lt drained", ep, 8, 0);
    close(ep);

    ep = epoll_create(1);
    add(ep, p[0], EPOLLIN | EPOLLET, 3);
    show("et empty", ep, 8, 0);
    write(p[1], "0123456789", 10);
    show("et write", ep, 8, 0);
    show("et again", ep, 8, 0);
    read(p[0], buf, 4);
    show("et partial read", ep, 8, 0);
    write(p[1], "x", 1);
    show("et more", ep, 8, 0);
    read(p[0], buf, sizeof buf);
    write(p[1], "y", 1);
    show("et drain+refill", ep, 8, 0);
    read(p[0], buf, sizeof buf);
    close(ep);

    ep = epoll_create1(0);
    write(p[1], "z", 1);
    add(ep, p[0], EPOLLIN | EPOLLONESHOT, 4);
    show("oneshot", ep, 8, 0);
    write(p[1], "z", 1);
    show("oneshot fired", ep, 8, 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 5};
    printf("mod: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    show("oneshot rearmed", ep, 8, 0);
    read(p[0], buf, sizeof buf);

    /* HUP when the writer goes; closing every descriptor removes it. */
    int r2 = dup(p[0]);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = 6;
    printf("mod2: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    close(p[0]);
    write(p[1], "w", 1);
    show("dup keeps it", ep, 8, 0);
    close(p[1]);
    show("hup", ep, 8, 0);
    close(r2);
    show("closed", ep, 8, 0);
    int e = eventfd(0, 0); /* likely reuses p[0]'s number */
    printf("del after close: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL)));
    close(e);
    close(q[0]);
    close(q[1]);
    close(ep);

    /* Edge-triggered write end: only a read that makes room in a full
       pipe is an edge. */
    pipe2(p, O_NONBLOCK);
    ep = epoll_create1(0);
    add(ep, p[1], EPOLLOUT | EPOLLET, 7);
    show("et out", ep, 8, 0);
    write(p[1], "0123456789", 10);
    show("et out write", ep, 8, 0);
    read(p[0], buf, 5);
    show("et out partial read", ep, 8, 0);
    close(p[0]);
    close(p[1]);
    close(ep);

    /* Edge-triggered eventfd: a write (even of 0) is an input edge, a read
       an output one. */
    e = eventfd(1, 0);
    ep = epoll_create1(0);
    add(ep, e, EPOLLIN | EPOLLOUT | EPOLLET, 8);
    show("et eventfd", ep, 8, 0);
    show("et eventfd again", ep, 8, 0);
    uint64_t v = 0;
    write(e, &v, 8);
    show("et eventfd write 0", ep, 8, 0);
    read(e, &v, 8);
    show("et eventfd read", ep, 8, 0);
    close(e);
    close(ep);
}

static void nested(void) {
    int inner = epoll_create1(0), outer = epoll_create1(0);
    int e = eventfd(0, EFD_NONBLOCK);
    add(inner, e, EPOLLIN, 11);
    add(outer, inner, EPOLLIN, 22);
    show("nested idle", outer, 8, 0);
    uint64_t v = 1;
    write(e, &v, 8);
    show("nested ready", outer, 8, 0);
    show("inner", inner, 8, 0);
    struct pollfd pfd = {.fd = outer, .events = POLLIN};
    int pr = poll(&pfd, 1, 0);
    printf("poll outer: %d %#x\n", pr, pfd.revents);
    printf("loop: %s\n", ERR(add(inner, outer, EPOLLIN, 0)));
    printf("self: %s\n", ERR(add(inner, inner, EPOLLIN, 0)));
    read(e, &v, 8);
    show("nested drained", outer, 8, 0);
    close(e);
    close(inner);
    close(outer);
}

static void eventfds(void) {
    uint64_t v;
    int e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; i++) {
        ssize_t n = read(e, &v, 8);
        printf("sem read: %zd %s %llu\n", n, ERR(n), n > 0 ? (unsigned long long)v : 0ULL);
    }
    close(e);
    e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    v = 5;
    write(e, &v, 8);
    v = 7;
    write(e, &v, 8);
    v = 0;
    ssize_t got = read(e, &v, 8);
    printf("read: %zd %llu\n", got, (unsigned long long)v);
    printf("empty: %s\n", ERR(read(e, &v, 8)));
    printf("short read: %s\n", ERR(read(e, &v, 4)));
    printf("short write: %s\n", ERR(write(e, &v, 4)));
    v = UINT64_MAX;
    printf("max write: %s\n", ERR(write(e, &v, 8)));
    v = UINT64_MAX - 1;
    printf("fill: %s\n", ERR(write(e, &v, 8)));
    v = 1;
    printf("overflow: %s\n", ERR(write(e, &v, 8)));
    char big[16] = {0};
    printf("long read: %zd\n", read(e, big, 16));
    struct pollfd pfd = {.fd = e, .events = POLLIN | POLLOUT};
    int pr = poll(&pfd, 1, 0);
    printf("poll: %d %#x\n", pr, pfd.revents);
    struct stat st;
    fstat(e, &st);
    printf("mode: %o\n", st.st_mode);
    printf("flags: %s\n", ERR(eventfd(0, 0x10)));
    close(e);

    /* A blocking read woken by a child's write. */
    e = eventfd(0, 0);
    pid_t c = fork();
    if (c == 0) {
        ms_sleep(20);
        v = 42;
        write(e, &v, 8);
        _exit(0);
    }
    v = 0;
    got = read(e, &v, 8);
    printf("blocking read: %zd %llu\n", got, (unsigned long long)v);
    waitpid(c, NULL, 0);
    close(e);
}

static void timerfds(void) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    uint64_t n = 0;
    struct itimerspec its = {{0, 10000000}, {0, 10000000}}, cur;
    printf("unarmed read: %s\n", ERR(read(t, &n, 8)));
    timerfd_gettime(t, &cur);
    printf("unarmed: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    timerfd_settime(t, 0, &its, NULL);
    ms_sleep(35);
    n = 0;
    read(t, &n, 8);
    printf("periodic >=3: %d\n", n >= 3);
    timerfd_gettime(t, &cur);
    printf("interval: %ld armed: %d\n", cur.it_interval.tv_nsec, cur.it_value.tv_nsec > 0 || cur.it_value.tv_sec > 0);
    struct itimerspec off = {{0, 0}, {0, 0}}, old;
    timerfd_settime(t, 0, &off, &old);
    printf("old interval: %ld\n", old.it_interval.tv_nsec);
    printf("short: %s\n", ERR(read(t, &n, 4)));
    close(t);

    /* Blocking read of a one-shot timer. */
    t = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
    struct itimerspec one = {{0, 0}, {0, 20000000}};
    timerfd_settime(t, 0, &one, NULL);
    long long t0 = now_ms();
    n = 0;
    ssize_t got = read(t, &n, 8);
    printf("oneshot read: %zd %llu\n", got, (unsigned long long)n);
    printf("waited: %d\n", now_ms() - t0 >= 15);
    /* Absolute time in the past: expires at once. */
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    struct itimerspec past = {{0, 0}, {rt.tv_sec - 1, 0}};
    timerfd_settime(t, TFD_TIMER_ABSTIME, &past, NULL);
    got = read(t, &n, 8);
    printf("abs past: %zd %llu\n", got, (unsigned long long)n);
    close(t);

    /* epoll wakes for a timer. */
    t = timerfd_create(CLOCK_BOOTTIME, 0);
    int ep = epoll_create1(0);
    add(ep, t, EPOLLIN, 77);
    timerfd_settime(t, 0, &one, NULL);
    show("epoll timer", ep, 8, -1);
    show("epoll timer again", ep, 8, 0);
    read(t, &n, 8);
    show("epoll timer read", ep, 8, 0);
    close(ep);
    close(t);

    printf("bad clock: %s\n", ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
    printf("bad flags: %s\n", ERR(timerfd_create(CLOCK_MONOTONIC, 1)));
    t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec bad = {{0, 0}, {0, 1000000000}};
    printf("bad nsec: %s\n", ERR(timerfd_settime(t, 0, &bad, NULL)));
    printf("bad settime flags: %s\n", ERR(timerfd_settime(t, 4, &one, NULL)));
    printf("efault: %s\n", ERR(timerfd_settime(t, 0, (void *)8, NULL)));
    int e = eventfd(0, 0);
    printf("not a timer: %s\n", ERR(timerfd_settime(e, 0, &one, NULL)));
    printf("gettime ebadf: %s\n", ERR(timerfd_gettime(999, &cur)));
    close(e);
    close(t);
}

static void signalfds(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int s = signalfd(-1, &m, SFD_NONBLOCK);
    struct signalfd_siginfo si;
    printf("empty: %s\n", ERR(read(s, &si, sizeof si)));
    int ep = epoll_create1(0);
    add(ep, s, EPOLLIN, 9);
    show("sfd idle", ep, 8, 0);
    kill(getpid(), SIGUSR1);
    show("sfd ready", ep, 8, 0);
    memset(&si, 0, sizeof si);
    ssize_t n = read(s, &si, sizeof si);
    printf("read: %zd signo %u code %d pid %d uid %d\n", n, si.ssi_signo, si.ssi_code, si.ssi_pid == (uint32_t)getpid(),
           si.ssi_uid == getuid());
    union sigval val = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN, val);
    sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 5678});
    struct signalfd_siginfo two[3];
    n = read(s, two, sizeof two);
    printf("rt read: %zd", n);
    for (int i = 0; i < n / (ssize_t)sizeof si; i++)
        printf(" [%d %d %d]", two[i].ssi_signo - SIGRTMIN, two[i].ssi_code, two[i].ssi_int);
    printf("\n");
    printf("small buffer: %s\n", ERR(read(s, &si, 100)));
    /* A new mask on the same descriptor. */
    sigset_t m2;
    sigemptyset(&m2);
    sigaddset(&m2, SIGUSR2);
    sigaddset(&m2, SIGKILL);
    sigprocmask(SIG_BLOCK, &m2, NULL);
    printf("update: %d\n", signalfd(s, &m2, 0) == s);
    raise(SIGUSR1);
    raise(SIGUSR2);
    n = read(s, &si, sizeof si);
    printf("after update: %zd signo %u code %d\n", n, si.ssi_signo, si.ssi_code);
    printf("usr1 still pending: %d\n", (sigpending(&m2), sigismember(&m2, SIGUSR1)));
    int t;
    sigwait(&m, &t);
    printf("bad size: %s\n", ERR(syscall(SYS_signalfd4, -1, &m, 4, 0)));
    printf("bad flags: %s\n", ERR(signalfd(-1, &m, 1)));
    int e = eventfd(0, 0);
    printf("not a signalfd: %s\n", ERR(signalfd(e, &m, 0)));
    printf("ebadf: %s\n", ERR(signalfd(999, &m, 0)));
    printf("efault: %s\n", ERR(signalfd(-1, (void *)8, 0)));
    close(e);
    close(ep);
    close(s);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static void sigchld_info(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGCHLD);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int s = signalfd(-1, &m, 0);
    pid_t c = fork();
    if (c == 0)
        _exit(7);
    struct signalfd_siginfo si;
    ssize_t n = read(s, &si, sizeof si);
    printf("sigchld sfd: %zd signo %u code %d pid %d status %d\n", n, si.ssi_signo, si.ssi_code, si.ssi_pid == (uint32_t)c, si.ssi_status);
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    kill(c, SIGTERM);
    siginfo_t info;
    int r = sigwaitinfo(&m, &info);
    printf("sigchld wait: %d code %d pid %d status %d\n", r == SIGCHLD, info.si_code, info.si_pid == c, info.si_status);
    waitpid(c, NULL, 0);
    close(s);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static volatile sig_atomic_t alarms;
static void on_alrm(int sig) {
    (void)sig;
    alarms++;
}

static void sigwaits(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    struct timespec ts = {0, 20000000};
    siginfo_t si;
    long long t0 = now_ms();
    int r = sigtimedwait(&m, &si, &ts);
    printf("timeout: %d %s waited %d\n", r, ERR(r), now_ms() - t0 >= 15);
    struct timespec zero = {0, 0};
    r = sigtimedwait(&m, &si, &zero);
    printf("poll: %d %s\n", r, ERR(r));
    raise(SIGUSR2);
    r = sigtimedwait(&m, &si, &ts);
    printf("got: %d code %d\n", r == SIGUSR2, si.si_code);
    sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = 99});
    r = sigwaitinfo(&m, &si);
    printf("sigwaitinfo: %d code %d value %d pid %d\n", r == SIGUSR2, si.si_code, si.si_value.sival_int, si.si_pid == getpid());
    /* A child sends while we wait. */
    pid_t c = fork();
    if (c == 0) {
        ms_sleep(20);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    r = sigwaitinfo(&m, &si);
    printf("from child: %d code %d pid %d\n", r == SIGUSR2, si.si_code, si.si_pid == c);
    waitpid(c, NULL, 0);
    /* Another signal with a handler interrupts the wait: EINTR. */
    struct sigaction sa = {.sa_handler = on_alrm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec longer = {2, 0};
    r = sigtimedwait(&m, &si, &longer);
    printf("interrupted: %d %s alarms %d\n", r, ERR(r), alarms);
    /* An unblocked signal in the set is taken, not handled. */
    sigemptyset(&m);
    sigaddset(&m, SIGALRM);
    setitimer(ITIMER_REAL, &it, NULL);
    r = sigtimedwait(&m, &si, &longer);
    printf("unblocked in set: %d alarms %d\n", r == SIGALRM, alarms);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("mask kept: alrm %d usr2 %d\n", sigismember(&cur, SIGALRM), sigismember(&cur, SIGUSR2));
    printf("bad size: %s\n", ERR(syscall(SYS_rt_sigtimedwait, &m, NULL, &zero, 4)));
    printf("efault: %s\n", ERR(syscall(SYS_rt_sigtimedwait, (void *)8, NULL, &zero, 8)));
    struct timespec badts = {0, -1};
    printf("einval: %s\n", ERR(syscall(SYS_rt_sigtimedwait, &m, NULL, &badts, 8)));
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static volatile int order[16][2];
static volatile sig_atomic_t norder;
static volatile sig_atomic_t usr1s;
static void on_rt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig == SIGUSR1) {
        usr1s++;
        return;
    }
    order[norder][0] = sig - SIGRTMIN;
    order[norder][1] = si->si_value.sival_int;
    norder++;
}

static void rt_queueing(void) {
    struct sigaction sa = {.sa_sigaction = on_rt, .sa_flags = SA_SIGINFO};
    sigaction(SIGRTMIN, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGRTMIN);
    sigaddset(&m, SIGRTMIN + 1);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    for (int i = 1; i <= 3; i++)
        sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = i});
    sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 10});
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigset_t p;
    sigpending(&p);
    printf("pending: %d %d %d\n", sigismember(&p, SIGRTMIN), sigismember(&p, SIGRTMIN + 1), sigismember(&p, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    printf("order:");
    for (int i = 0; i < norder; i++)
        printf(" RTMIN+%d=%d", order[i][0], order[i][1]);
    printf("\nusr1 delivered %d\n", usr1s);
    /* Queued to a thread with rt_tgsigqueueinfo. */
    sigprocmask(SIG_BLOCK, &m, NULL);
    siginfo_t si = {0};
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 31;
    printf("tgsigqueue: %s\n", ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN, &si)));
    norder = 0;
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    printf("thread-directed: %d %d\n", norder, norder ? order[0][1] : -1);
    /* Kernel codes may only be claimed when signalling oneself. */
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    si.si_code = SI_USER;
    printf("forged: %s\n", ERR(syscall(SYS_rt_sigqueueinfo, c, SIGUSR1, &si)));
    printf("self kernel code: %s\n", ERR(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si)));
    printf("bad sig: %s\n", ERR(sigqueue(getpid(), 65, (union sigval){0})));
    printf("efault: %s\n", ERR(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, (void *)8)));
    kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);
    printf("child: %d\n", WTERMSIG(st));
    signal(SIGRTMIN, SIG_DFL);
    signal(SIGRTMIN + 1, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
}

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) {
    (void)sig;
    usr1++;
}

static void waits(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN, 1);
    long long t0 = now_ms();
    show("timeout", ep, 8, 30);
    printf("waited: %d\n", now_ms() - t0 >= 25);
    pid_t c = fork();
    if (c == 0) {
        ms_sleep(20);
        write(p[1], "x", 1);
        _exit(0);
    }
    show("woken", ep, 8, 5000);
    waitpid(c, NULL, 0);
    /* epoll_pwait's mask lets a blocked signal in: EINTR. */
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t m, empty;
    sigemptyset(&m);
    sigemptyset(&empty);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    char b;
    read(p[0], &b, 1);
    raise(SIGUSR1);
    struct epoll_event ev;
    int r = epoll_pwait(ep, &ev, 1, -1, &empty);
    printf("pwait: %d %s usr1 %d\n", r, ERR(r), usr1);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("mask back: %d\n", sigismember(&cur, SIGUSR1));
    /* ppoll and pselect take a mask the same way. */
    raise(SIGUSR1);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    r = ppoll(&pfd, 1, NULL, &empty);
    printf("ppoll: %d %s usr1 %d\n", r, ERR(r), usr1);
    raise(SIGUSR1);
    r = pselect(0, NULL, NULL, NULL, NULL, &empty);
    printf("pselect: %d %s usr1 %d\n", r, ERR(r), usr1);
    struct timespec short_ts = {0, 5000000};
    raise(SIGUSR1);
    r = ppoll(&pfd, 1, &short_ts, &m);
    printf("ppoll masked: %d usr1 %d\n", r, usr1);
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("mask back: %d\n", sigismember(&cur, SIGUSR1));
    printf("ppoll bad size: %s\n", ERR(syscall(SYS_ppoll, &pfd, 1, &short_ts, &m, 4)));
    struct timespec ts = {0, 10000000};
    r = syscall(441, ep, &ev, 1, &ts, NULL, 8);
    printf("pwait2 timeout: %d %s\n", r, ERR(r));
    /* An alarm interrupts epoll_wait even with SA_RESTART. */
    struct sigaction sb = {.sa_handler = on_alrm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sb, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    alarms = 0;
    r = epoll_wait(ep, &ev, 1, -1);
    printf("alarm: %d %s alarms %d\n", r, ERR(r), alarms);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    signal(SIGUSR1, SIG_DFL);
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void errors(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN};
    int reg = open("/etc/passwd", O_RDONLY);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_RDONLY);
    printf("create 0: %s\n", ERR(epoll_create(0)));
    printf("create1 flags: %s\n", ERR(epoll_create1(1)));
    printf("regular: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev)));
    printf("dir: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev)));
    printf("null: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, null, &ev)));
    printf("not epoll: %s\n", ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev)));
    printf("ebadf fd: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev)));
    printf("ebadf ep: %s\n", ERR(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev)));
    printf("add: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("exists: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("mod missing: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev)));
    printf("del missing: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("bad op: %s\n", ERR(epoll_ctl(ep, 9, p[1], &ev)));
    printf("efault: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)8)));
    printf("del null: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], (void *)8)));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    printf("exclusive: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)));
    printf("exclusive mod: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLPRI;
    printf("exclusive pri: %s\n", ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev)));
    struct epoll_event out[2];
    printf("max 0: %s\n", ERR(epoll_wait(ep, out, 0, 0)));
    printf("wait not epoll: %s\n", ERR(epoll_wait(p[0], out, 2, 0)));
    printf("wait ebadf: %s\n", ERR(epoll_wait(999, out, 2, 0)));
    write(p[1], "x", 1);
    printf("wait efault: %s\n", ERR(syscall(SYS_epoll_wait, ep, (void *)8, 2, 0)));
    printf("pwait bad size: %s\n", ERR(syscall(SYS_epoll_pwait, ep, out, 2, 0, out, 4)));
    /* epoll_pwait2 with a bad timespec */
    struct timespec bad = {0, 2000000000};
    printf("pwait2 einval: %s\n", ERR(syscall(441, ep, out, 2, &bad, NULL, 8)));
    /* A chain of instances watching each other. */
    int a = epoll_create1(0), b = epoll_create1(0);
    ev.events = EPOLLIN;
    printf("a in b: %s\n", ERR(epoll_ctl(b, EPOLL_CTL_ADD, a, &ev)));
    printf("b in a: %s\n", ERR(epoll_ctl(a, EPOLL_CTL_ADD, b, &ev)));
    close(a);
    close(b);
    close(reg);
    close(dir);
    close(null);
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void inotifies(void) {
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("inotify: %d\n", in >= 0);
    printf("watch /: %d\n", inotify_add_watch(in, "/", IN_CREATE));
    printf("watch / again: %d\n", inotify_add_watch(in, "/", IN_DELETE | IN_MASK_ADD));
    printf("watch /etc: %d\n", inotify_add_watch(in, "/etc", IN_MODIFY));
    printf("create again: %s\n", ERR(inotify_add_watch(in, "/etc", IN_MODIFY | IN_MASK_CREATE)));
    printf("onlydir: %s\n", ERR(inotify_add_watch(in, "/etc/passwd", IN_MODIFY | IN_ONLYDIR)));
    printf("missing: %s\n", ERR(inotify_add_watch(in, "/nonexistent", IN_MODIFY)));
    printf("no events: %s\n", ERR(inotify_add_watch(in, "/", 0)));
    printf("rm: %s\n", ERR(inotify_rm_watch(in, 2)));
    printf("rm again: %s\n", ERR(inotify_rm_watch(in, 2)));
    char buf[256];
    ssize_t n = read(in, buf, sizeof buf);
    printf("read: %zd mask %#x\n", n, n > 0 ? ((struct inotify_event *)buf)->mask : 0);
    printf("read again: %s\n", ERR(read(in, buf, sizeof buf)));
    struct pollfd pfd = {.fd = in, .events = POLLIN};
    printf("poll: %d\n", poll(&pfd, 1, 0));
    printf("flags: %s\n", ERR(inotify_init1(1)));
    int e = eventfd(0, 0);
    printf("not inotify: %s\n", ERR(inotify_add_watch(e, "/", IN_CREATE)));
    close(e);
    close(in);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    epoll_modes();
    nested();
    eventfds();
    timerfds();
    signalfds();
    sigchld_info();
    sigwaits();
    rt_queueing();
    waits();
    errors();
    inotifies();
    printf("events done\n");
    return 0;
}
