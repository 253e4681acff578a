/* Signal delivery, run natively and under oxvm: output must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile sig_atomic_t got, code;
static void *volatile addr;

static void on_segv_jump(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    code = si->si_code;
    addr = si->si_addr;
    siglongjmp(jb, 1);
}

/* Skip the faulting 3-byte instruction (mov (%rax),%eax is 2 bytes; we
   use a known encoding below). */
static void on_segv_skip(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    got = sig;
    addr = si->si_addr;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
    uc->uc_mcontext.gregs[REG_RAX] = 42;
}

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    code = si->si_code;
    char stack;
    /* (rsp+8) was 16-aligned at entry: a local's alignment check is weak,
       so check the frame pointers glibc gives instead. */
    (void)stack;
}

static void on_alrm(int sig) { got = sig; }

static char altstack[65536];
static volatile int on_alt;
static void on_usr2(int sig) {
    char local;
    got = sig;
    on_alt = (uintptr_t)&local >= (uintptr_t)altstack && (uintptr_t)&local < (uintptr_t)altstack + sizeof altstack;
}

static void on_chld(int sig) { got = sig; }

static volatile pthread_t hit;
static void on_usr2_thread(int sig) {
    hit = pthread_self();
    got = sig;
}
static void *worker(void *a) {
    (void)a;
    while (!got)
        usleep(1000);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);

    /* 1. SIGSEGV handler that siglongjmps out. */
    sa.sa_sigaction = on_segv_jump;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(jb, 1) == 0) {
        int *volatile bad = (int *)16;
        *bad = 1;
        puts("not reached");
    }
    printf("segv jump: sig %d code %d addr %p\n", got, code, addr);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("segv blocked after siglongjmp: %d\n", sigismember(&cur, SIGSEGV));

    /* 2. SIGSEGV handler that skips the instruction via ucontext. */
    sa.sa_sigaction = on_segv_skip;
    sigaction(SIGSEGV, &sa, NULL);
    long v;
    __asm__ volatile("mov $24, %%rcx\n\tmov (%%rcx), %%eax" : "=a"(v) : : "rcx", "memory");
    printf("segv skip: sig %d addr %p rax %ld\n", got, addr, v);

    /* 3. kill self with a handler. */
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    got = 0;
    kill(getpid(), SIGUSR1);
    printf("usr1: sig %d code %d\n", got, code);
    raise(SIGUSR1);
    printf("raise: sig %d code %d\n", got, code);

    /* 4. Blocked then pending then unblocked. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    got = 0;
    kill(getpid(), SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("pending: %d got %d\n", sigismember(&pend, SIGUSR1), got);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("unblocked: got %d\n", got);

    /* 5. Blocking pipe read interrupted by alarm, without and with SA_RESTART. */
    int p[2];
    pipe(p);
    struct sigaction al;
    memset(&al, 0, sizeof al);
    al.sa_handler = on_alrm;
    sigaction(SIGALRM, &al, NULL);
    got = 0;
    alarm(1);
    char c;
    ssize_t r = read(p[0], &c, 1);
    printf("read no restart: %zd errno %s got %d\n", r, r < 0 ? strerror(errno) : "-", got);
    al.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &al, NULL);
    pid_t w = fork();
    if (w == 0) {
        sleep(2);
        write(p[1], "x", 1);
        _exit(0);
    }
    got = 0;
    alarm(1);
    r = read(p[0], &c, 1);
    printf("read restart: %zd got %d\n", r, got);
    waitpid(w, NULL, 0);

    /* 6. setitimer + pause. */
    struct itimerval it = {{0, 0}, {0, 200000}};
    got = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    pause();
    printf("itimer: got %d\n", got);

    /* 7. sigaltstack. */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction a2;
    memset(&a2, 0, sizeof a2);
    a2.sa_handler = on_usr2;
    a2.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &a2, NULL);
    raise(SIGUSR2);
    printf("altstack: got %d on_alt %d\n", got, on_alt);

    /* 7b. SA_RESETHAND: the second raise takes the default action
       (SIGWINCH: ignore). */
    struct sigaction a5;
    memset(&a5, 0, sizeof a5);
    a5.sa_handler = on_usr2;
    a5.sa_flags = SA_RESETHAND;
    sigaction(SIGWINCH, &a5, NULL);
    got = 0;
    raise(SIGWINCH);
    struct sigaction q;
    sigaction(SIGWINCH, NULL, &q);
    printf("resethand: got %d now default %d\n", got, q.sa_handler == SIG_DFL);
    raise(SIGWINCH);


    /* 8. SIGCHLD + sigsuspend. */
    struct sigaction a3;
    memset(&a3, 0, sizeof a3);
    a3.sa_handler = on_chld;
    sigaction(SIGCHLD, &a3, NULL);
    sigset_t blk, old;
    sigemptyset(&blk);
    sigaddset(&blk, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blk, &old);
    got = 0;
    if (fork() == 0)
        _exit(3);
    sigsuspend(&old);
    int st;
    wait(&st);
    printf("sigchld: got %d status %d\n", got, WEXITSTATUS(st));

    /* 9. nanosleep interrupted. */
    al.sa_flags = 0;
    sigaction(SIGALRM, &al, NULL);
    alarm(1);
    struct timespec req = {3, 0}, rem = {0, 0};
    int n = nanosleep(&req, &rem);
    printf("nanosleep: %d %s rem>=1 %d\n", n, strerror(errno), rem.tv_sec >= 1);

    /* 10. default action of SIGTERM on a child. */
    if ((w = fork()) == 0) {
        pause();
        _exit(0);
    }
    usleep(100000);
    kill(w, SIGTERM);
    waitpid(w, &st, 0);
    printf("child killed: %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));

    /* 11. pthread_kill reaches the named thread. */
    struct sigaction a4;
    memset(&a4, 0, sizeof a4);
    a4.sa_handler = on_usr2_thread;
    sigaction(SIGUSR2, &a4, NULL);
    got = 0;
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    pthread_kill(th, SIGUSR2);
    pthread_join(th, NULL);
    printf("pthread_kill: got %d in thread %d\n", got, pthread_equal(hit, th));
    return 0;
}
