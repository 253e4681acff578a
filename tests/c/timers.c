/* POSIX timers, CPU-time interval timers and robust mutexes against
 * native Linux. Only deterministic facts are printed (signal numbers,
 * si_code/si_value, counts as lower bounds, errno names), so every line
 * must match the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EAGAIN: return "EAGAIN";
    default: return "E?";
    }
}

static const char *code_name(int c) {
    switch (c) {
    case SI_TIMER: return "SI_TIMER";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    default: return "?";
    }
}

/* Raw calls: the kernel's own answers, without glibc's wrappers. */
static long sys_timer_create(long clock, struct sigevent *ev, int *id) {
    long r = syscall(SYS_timer_create, clock, ev, id);
    return r < 0 ? -errno : r;
}
static long sys_timer_settime(int id, int flags, const struct itimerspec *n, struct itimerspec *o) {
    long r = syscall(SYS_timer_settime, id, flags, n, o);
    return r < 0 ? -errno : r;
}
static long sys_timer_gettime(int id, struct itimerspec *o) {
    long r = syscall(SYS_timer_gettime, id, o);
    return r < 0 ? -errno : r;
}
static long sys_timer_getoverrun(int id) {
    long r = syscall(SYS_timer_getoverrun, id);
    return r < 0 ? -errno : r;
}
static long sys_timer_delete(int id) {
    long r = syscall(SYS_timer_delete, id);
    return r < 0 ? -errno : r;
}

static const char *res(long r) {
    static char b[32];
    if (r < 0)
        return en((int)-r);
    snprintf(b, sizeof b, "%ld", r);
    return b;
}

static struct itimerspec its(long vs, long vns, long is, long ins) {
    struct itimerspec t = {{is, ins}, {vs, vns}};
    return t;
}

static void msleep(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t got, got_code, got_value, got_timerid, vt_count, prof_count, vt_code;

static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_timerid = si->si_timerid;
}

static void on_vt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    vt_code = si->si_code;
    if (sig == SIGVTALRM)
        vt_count++;
    else
        prof_count++;
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void block(int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_BLOCK, &s, NULL);
}

static void default_sigevent(void) {
    handle(SIGALRM, on_info);
    int id = -1;
    long r = sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
    printf("default: create %s id %d\n", res(r), id);
    struct itimerspec t = its(0, 10000000, 0, 0);
    got = 0;
    printf("default: settime %s\n", res(sys_timer_settime(id, 0, &t, NULL)));
    while (!got)
        pause();
    printf("default: sig %d code %s value %d timerid %d\n", got, code_name(got_code), got_value, got_timerid);
    struct itimerspec o;
    sys_timer_gettime(id, &o);
    printf("default: after expiry value %ld.%09ld interval %ld\n", o.it_value.tv_sec, o.it_value.tv_nsec, o.it_interval.tv_sec);
    printf("default: delete %s\n", res(sys_timer_delete(id)));
    printf("default: delete again %s\n", res(sys_timer_delete(id)));
    signal(SIGALRM, SIG_DFL);
}

static void periodic_sigwait(void) {
    int sig = SIGRTMIN + 2;
    block(sig);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 1234;
    int id;
    long r = sys_timer_create(CLOCK_REALTIME, &ev, &id);
    printf("periodic: create %s id %d\n", res(r), id);
    struct itimerspec t = its(0, 5000000, 0, 5000000);
    sys_timer_settime(id, 0, &t, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    for (int i = 0; i < 3; i++) {
        siginfo_t si;
        int got = sigwaitinfo(&s, &si);
        printf("periodic: %d sig %s code %s value %d timerid %d\n", i, got == sig ? "SIGRTMIN+2" : "?", code_name(si.si_code),
               si.si_value.sival_int, si.si_timerid);
    }
    /* Let several periods pass while the signal is pending: one signal,
     * the rest counted as overruns. */
    msleep(60);
    siginfo_t si;
    sigwaitinfo(&s, &si);
    long ov = sys_timer_getoverrun(id);
    printf("periodic: overrun >= 5: %s, getoverrun == si_overrun: %s\n", si.si_overrun >= 5 ? "yes" : "no",
           ov == si.si_overrun ? "yes" : "no");
    struct itimerspec o;
    t = its(0, 0, 0, 0);
    r = sys_timer_settime(id, 0, &t, &o);
    printf("periodic: disarm %s old interval %ld.%09ld value<=5ms %s\n", res(r), o.it_interval.tv_sec, o.it_interval.tv_nsec,
           o.it_value.tv_sec == 0 && o.it_value.tv_nsec <= 5000000 && o.it_value.tv_nsec > 0 ? "yes" : "no");
    sys_timer_delete(id);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&s, &si, &zero) > 0) {
    }
}

static void gettime_and_abstime(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int id;
    printf("none: create %s\n", res(sys_timer_create(CLOCK_BOOTTIME, &ev, &id)));
    struct itimerspec t = its(10, 0, 3, 500), o;
    sys_timer_settime(id, 0, &t, NULL);
    sys_timer_gettime(id, &o);
    printf("none: value 9..10s %s interval %ld.%09ld\n", o.it_value.tv_sec >= 9 && o.it_value.tv_sec <= 10 ? "yes" : "no",
           o.it_interval.tv_sec, o.it_interval.tv_nsec);
    t = its(0, 20000000, 0, 0);
    sys_timer_settime(id, 0, &t, &o);
    printf("none: old value 9..10s %s\n", o.it_value.tv_sec >= 9 ? "yes" : "no");
    msleep(40);
    sys_timer_gettime(id, &o);
    printf("none: expired value %ld.%09ld\n", o.it_value.tv_sec, o.it_value.tv_nsec);
    sys_timer_delete(id);

    /* TIMER_ABSTIME on CLOCK_REALTIME: a time 20 ms ahead, then one in
     * the past (fires at once). */
    handle(SIGUSR1, on_info);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 77;
    sys_timer_create(CLOCK_REALTIME, &ev, &id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long ns = now.tv_nsec + 20000000;
    t = its(now.tv_sec + ns / 1000000000, ns % 1000000000, 0, 0);
    got = 0;
    printf("abstime: settime %s\n", res(sys_timer_settime(id, TIMER_ABSTIME, &t, NULL)));
    while (!got)
        pause();
    printf("abstime: sig %d code %s value %d\n", got, code_name(got_code), got_value);
    t = its(1, 0, 0, 0);
    got = 0;
    sys_timer_settime(id, TIMER_ABSTIME, &t, NULL);
    while (!got)
        pause();
    printf("abstime: past deadline fired value %d\n", got_value);
    sys_timer_delete(id);
    signal(SIGUSR1, SIG_DFL);
}

static void errors(void) {
    int id;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    printf("errors: clock 99 %s\n", res(sys_timer_create(99, NULL, &id)));
    printf("errors: MONOTONIC_RAW %s\n", res(sys_timer_create(CLOCK_MONOTONIC_RAW, NULL, &id)));
    printf("errors: MONOTONIC_COARSE %s\n", res(sys_timer_create(CLOCK_MONOTONIC_COARSE, NULL, &id)));
    printf("errors: clock 10 %s\n", res(sys_timer_create(10, NULL, &id)));
    printf("errors: NULL timerid %s\n", res(sys_timer_create(CLOCK_MONOTONIC, NULL, NULL)));
    ev.sigev_notify = 99;
    ev.sigev_signo = SIGUSR1;
    printf("errors: notify 99 %s\n", res(sys_timer_create(CLOCK_MONOTONIC, &ev, &id)));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    printf("errors: signo 0 %s\n", res(sys_timer_create(CLOCK_MONOTONIC, &ev, &id)));
    ev.sigev_signo = 65;
    printf("errors: signo 65 %s\n", res(sys_timer_create(CLOCK_MONOTONIC, &ev, &id)));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev._sigev_un._tid = 999999;
    printf("errors: bad thread %s\n", res(sys_timer_create(CLOCK_MONOTONIC, &ev, &id)));
    ev._sigev_un._tid = (int)syscall(SYS_gettid);
    long r = sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    printf("errors: own thread %s\n", r == 0 ? "OK" : res(r));
    printf("errors: bad sevp %s\n", res(sys_timer_create(CLOCK_MONOTONIC, (void *)8, &id)));
    struct itimerspec t = its(0, 1000000000, 0, 0);
    printf("errors: nsec 1e9 %s\n", res(sys_timer_settime(id, 0, &t, NULL)));
    t = its(-1, 0, 0, 0);
    printf("errors: negative %s\n", res(sys_timer_settime(id, 0, &t, NULL)));
    printf("errors: NULL new %s\n", res(sys_timer_settime(id, 0, NULL, NULL)));
    t = its(0, 0, 0, 0);
    printf("errors: bad id settime %s\n", res(sys_timer_settime(4242, 0, &t, NULL)));
    printf("errors: bad id gettime %s\n", res(sys_timer_gettime(4242, (void *)&t)));
    printf("errors: bad id getoverrun %s\n", res(sys_timer_getoverrun(4242)));
    printf("errors: bad id delete %s\n", res(sys_timer_delete(-1)));
    printf("errors: gettime bad pointer %s\n", res(sys_timer_gettime(id, (void *)8)));
    printf("errors: getoverrun fresh %s\n", res(sys_timer_getoverrun(id)));
    sys_timer_delete(id);
}

/* A timer deleted or re-armed while its signal is pending: the signal
 * still shows in sigpending, but is dropped when taken. */
static void stale_pending(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGRTMIN + 3);
    sigprocmask(SIG_BLOCK, &s, NULL);
    for (int mode = 0; mode < 4; mode++) {
        int sig = mode >= 2 ? SIGRTMIN + 3 : SIGUSR1;
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = sig;
        ev.sigev_value.sival_int = 5;
        int id;
        sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
        struct itimerspec t = its(0, 1000000, 0, 0);
        sys_timer_settime(id, 0, &t, NULL);
        msleep(20);
        sigset_t p;
        sigpending(&p);
        int before = sigismember(&p, sig);
        if (mode % 2 == 0) {
            sys_timer_delete(id);
        } else {
            /* Re-armed, and fires again: the new signal is delivered. */
            t = its(0, 2000000, 0, 0);
            sys_timer_settime(id, 0, &t, NULL);
        }
        sigpending(&p);
        int after = sigismember(&p, sig);
        if (mode % 2 == 1)
            msleep(20);
        struct timespec zero = {0, 0};
        siginfo_t si;
        int r = sigtimedwait(&s, &si, &zero);
        printf("stale %s %s: pending %d %d, taken %s", mode % 2 ? "rearm" : "delete", mode >= 2 ? "rt" : "std", before, after,
               r == sig ? "yes" : "no");
        if (r == sig)
            printf(" code %s value %d", code_name(si.si_code), si.si_value.sival_int);
        printf(", then %s\n", sigtimedwait(&s, &si, &zero) < 0 ? en(errno) : "more");
        if (mode % 2 == 1)
            sys_timer_delete(id);
    }
}

/* A timer already due when it is re-armed still delivers its signal
 * (natively it has, before the re-arm). */
static volatile sig_atomic_t rearm_fired;
static void on_rearm(int sig) {
    (void)sig;
    rearm_fired++;
}

static void rearm_after_due(void) {
    signal(SIGUSR2, on_rearm);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    int id, ok = 0;
    sys_timer_create(CLOCK_MONOTONIC, &ev, &id);
    for (int i = 0; i < 20; i++) {
        rearm_fired = 0;
        struct itimerspec t = its(0, 100000, 0, 0);
        sys_timer_settime(id, 0, &t, NULL);
        double end = now_mono() + 0.0003;
        while (now_mono() < end) {
        }
        t = its(10, 0, 0, 0);
        sys_timer_settime(id, 0, &t, NULL);
        msleep(2);
        ok += rearm_fired == 1;
    }
    printf("rearm after due: fired once %d/20\n", ok);
    sys_timer_delete(id);
    signal(SIGUSR2, SIG_DFL);
}

static volatile int thread_calls, thread_value;

static void notify_fn(union sigval v) {
    thread_value = v.sival_int;
    __sync_fetch_and_add(&thread_calls, 1);
}

static void sigev_thread(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = notify_fn;
    ev.sigev_value.sival_int = 42;
    timer_t t;
    printf("thread: create %s\n", en(timer_create(CLOCK_MONOTONIC, &ev, &t) ? errno : 0));
    struct itimerspec s = its(0, 5000000, 0, 5000000);
    timer_settime(t, 0, &s, NULL);
    double end = now_mono() + 10;
    while (thread_calls < 3 && now_mono() < end)
        msleep(5);
    printf("thread: calls >= 3 %s value %d\n", thread_calls >= 3 ? "yes" : "no", thread_value);
    printf("thread: delete %s\n", en(timer_delete(t) ? errno : 0));
}

static volatile sig_atomic_t cpu_fired;

static void on_cpu(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    (void)sig;
    cpu_fired = si->si_code == SI_TIMER ? si->si_value.sival_int : -1;
}

static void cpu_clocks(void) {
    handle(SIGUSR2, on_cpu);
    clockid_t clocks[3] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, 0};
    clock_getcpuclockid(0, &clocks[2]);
    const char *names[3] = {"process", "thread", "getcpuclockid"};
    for (int i = 0; i < 3; i++) {
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGUSR2;
        ev.sigev_value.sival_int = 100 + i;
        int id;
        long r = sys_timer_create(clocks[i], &ev, &id);
        struct itimerspec t = its(0, 20000000, 0, 0);
        sys_timer_settime(id, 0, &t, NULL);
        cpu_fired = 0;
        double end = now_mono() + 20;
        volatile unsigned long spin = 0;
        while (!cpu_fired && now_mono() < end)
            spin++;
        printf("cpu %s: create %s fired value %d\n", names[i], res(r), cpu_fired);
        sys_timer_delete(id);
    }
    signal(SIGUSR2, SIG_DFL);
}

static void itimers(void) {
    handle(SIGVTALRM, on_vt);
    handle(SIGPROF, on_vt);
    struct itimerval v = {{0, 10000}, {0, 10000}}, o;
    printf("virtual: set %s\n", en(setitimer(ITIMER_VIRTUAL, &v, NULL) ? errno : 0));
    getitimer(ITIMER_VIRTUAL, &o);
    printf("virtual: interval %ld.%06ld armed %s\n", o.it_interval.tv_sec, o.it_interval.tv_usec,
           o.it_value.tv_sec || o.it_value.tv_usec ? "yes" : "no");
    double end = now_mono() + 20;
    volatile unsigned long spin = 0;
    while (vt_count < 3 && now_mono() < end)
        spin++;
    struct itimerval zero = {{0, 0}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &zero, &o);
    printf("virtual: count >= 3 %s code %s old interval %ld.%06ld\n", vt_count >= 3 ? "yes" : "no", code_name(vt_code),
           o.it_interval.tv_sec, o.it_interval.tv_usec);
    getitimer(ITIMER_VIRTUAL, &o);
    printf("virtual: disarmed %ld %ld\n", o.it_value.tv_sec, o.it_value.tv_usec);
    printf("prof: set %s\n", en(setitimer(ITIMER_PROF, &v, NULL) ? errno : 0));
    end = now_mono() + 20;
    while (prof_count < 3 && now_mono() < end)
        spin++;
    setitimer(ITIMER_PROF, &zero, NULL);
    printf("prof: count >= 3 %s code %s\n", prof_count >= 3 ? "yes" : "no", code_name(vt_code));
    printf("itimer: bad which %s\n", en(setitimer(5, &v, NULL) ? errno : 0));
    signal(SIGVTALRM, SIG_DFL);
    signal(SIGPROF, SIG_DFL);
}

static void inheritance(const char *self) {
    int id;
    sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
    struct itimerspec t = its(100, 0, 0, 0);
    sys_timer_settime(id, 0, &t, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerspec o;
        printf("fork: child gettime %s\n", res(sys_timer_gettime(id, &o)));
        char idbuf[16];
        snprintf(idbuf, sizeof idbuf, "%d", id);
        /* Armed in the child too, then exec: the timer must be gone. */
        sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
        sys_timer_settime(id, 0, &t, NULL);
        fflush(stdout);
        execl(self, self, "exec-check", idbuf, (char *)NULL);
        _exit(99);
    }
    int st;
    waitpid(pid, &st, 0);
    struct itimerspec o;
    printf("fork: parent gettime %s\n", res(sys_timer_gettime(id, &o)));
    sys_timer_delete(id);

    /* A default timer's SIGALRM with no handler ends the process. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
        t = its(0, 10000000, 0, 0);
        sys_timer_settime(id, 0, &t, NULL);
        for (;;)
            pause();
    }
    waitpid(pid, &st, 0);
    printf("default action: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
}

/* Robust mutexes: a thread that dies holding one hands the next locker
 * EOWNERDEAD (through the kernel's robust-list walk). */
static pthread_mutex_t rm;
static volatile int holder_ready;

static void *hold_and_die(void *arg) {
    pthread_mutex_lock(&rm);
    holder_ready = 1;
    if (arg)
        msleep(50); /* the main thread is now waiting in the kernel */
    return NULL;
}

/* A corrupt robust list (a cycle that never returns to the head, or an
 * unmapped entry) must not stop the thread from exiting. */
static struct {
    void *next;
    long offset;
    void *pending;
} bad_head;
static void *bad_loop[2];

static void *corrupt_list(void *arg) {
    bad_loop[0] = bad_loop;
    bad_head.next = arg ? (void *)bad_loop : (void *)0x1000;
    bad_head.offset = 8;
    bad_head.pending = (void *)0x2000;
    long r = syscall(SYS_set_robust_list, &bad_head, sizeof bad_head);
    return (void *)r;
}

static void robust(void) {
    for (long i = 0; i < 2; i++) {
        pthread_t c;
        void *rv;
        pthread_create(&c, NULL, corrupt_list, (void *)i);
        pthread_join(c, &rv);
        printf("robust: corrupt list %s: set %ld, joined\n", i ? "cycle" : "unmapped", (long)rv);
    }

    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&rm, &a);
    pthread_t t;
    pthread_create(&t, NULL, hold_and_die, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&rm);
    printf("robust: lock after owner died %s\n", en(r));
    printf("robust: consistent %s\n", en(pthread_mutex_consistent(&rm)));
    printf("robust: unlock %s\n", en(pthread_mutex_unlock(&rm)));
    printf("robust: lock again %s\n", en(pthread_mutex_lock(&rm)));
    printf("robust: unlock again %s\n", en(pthread_mutex_unlock(&rm)));

    /* The waiter is already blocked when the owner dies. */
    holder_ready = 0;
    pthread_create(&t, NULL, hold_and_die, (void *)1);
    while (!holder_ready)
        msleep(1);
    r = pthread_mutex_lock(&rm);
    printf("robust: blocked waiter gets %s\n", en(r));
    pthread_join(t, NULL);
    /* Not made consistent: unlocking makes it unrecoverable. */
    pthread_mutex_unlock(&rm);
    printf("robust: after unlock without consistent %s\n", en(pthread_mutex_lock(&rm)));

    /* get_robust_list reports glibc's registration for this thread. */
    void *head;
    size_t len;
    long g = syscall(SYS_get_robust_list, 0, &head, &len);
    printf("robust: get_robust_list %s len %zu\n", g == 0 ? "OK" : en(errno), len);
    printf("robust: set_robust_list bad len %s\n", syscall(SYS_set_robust_list, head, 7) ? en(errno) : "OK");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "exec-check") == 0) {
        struct itimerspec o;
        int first = atoi(argv[2]);
        printf("exec: timers gone %s %s\n", res(sys_timer_gettime(first, &o)), res(sys_timer_gettime(first + 1, &o)));
        int id = -1;
        sys_timer_create(CLOCK_MONOTONIC, NULL, &id);
        printf("exec: first new id %d\n", id);
        return 0;
    }
    default_sigevent();
    periodic_sigwait();
    gettime_and_abstime();
    errors();
    stale_pending();
    rearm_after_due();
    sigev_thread();
    cpu_clocks();
    itimers();
    inheritance(argv[0]);
    robust();
    printf("timers: done\n");
    return 0;
}
