/* Hostile syscalls: random numbers with random arguments (bad pointers,
 * huge lengths, invalid descriptors, kernel addresses, garbage flags), each
 * batch in a forked child that an interval timer ends. Under oxvm the only
 * requirement is that oxvm itself survives: the guest may crash itself,
 * oxvm may not panic or hang. Run it with a scratch root so that whatever
 * the random calls create, rename or delete stays inside it.
 *
 * Usage: sysfuzz SEED BATCHES */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static unsigned char buf[65536];

/* Calls that would leave the batch's child: process creation (grandchildren
 * would outlive the timer), signals to other processes (kill(-1, SIGKILL)
 * would take the fuzzer down), exec, and waits with no end. */
static int excluded(long nr) {
    switch (nr) {
    case SYS_clone: case SYS_fork: case SYS_vfork: case SYS_clone3:
    case SYS_execve: case SYS_execveat:
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
    case SYS_pause: case SYS_rt_sigsuspend: case SYS_ptrace:
    case SYS_setitimer: case SYS_alarm: case SYS_timer_create:
        return 1;
    }
    return 0;
}

static uint64_t arg(void) {
    switch (next() % 14) {
    case 0: return 0;
    case 1: return (uint64_t)-1;
    case 2: return next() % 64;
    case 3: return next() % 4096;
    case 4: return 0x7fffffff;
    case 5: return 0xffffffffull;
    case 6: return 1ull << 63;
    case 7: return (uint64_t)buf;
    case 8: return (uint64_t)buf + next() % sizeof buf;
    case 9: return 0x10000;                 /* unmapped */
    case 10: return 0xffff800000000000ull;  /* kernel half */
    case 11: return (uint64_t)buf + sizeof buf - next() % 16; /* runs off the end */
    case 12: return next();
    default: return (uint64_t)"f";
    }
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    state = strtoull(argv[1], 0, 0) | 1;
    long batches = atol(argv[2]), crashed = 0, timed_out = 0;
    for (long b = 0; b < batches; b++) {
        uint64_t seed = next();
        pid_t c = fork();
        if (c < 0) return 3;
        if (c == 0) {
            state = seed | 1;
            for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)next();
            memcpy(buf, "f\0dir/x\0", 8);
            struct itimerval it = {.it_value = {0, 20000}};
            setitimer(ITIMER_REAL, &it, 0);
            for (int i = 0; i < 16; i++) {
                long nr = next() % 460;
                if (excluded(nr)) continue;
                syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
            }
            _exit(0);
        }
        int st;
        if (waitpid(c, &st, 0) != c) return 4;
        if (WIFSIGNALED(st)) {
            if (WTERMSIG(st) == SIGALRM) timed_out++;
            else crashed++;
        }
    }
    printf("sysfuzz: %ld batches done (%ld crashed themselves, %ld ended by the timer)\n", batches, crashed, timed_out);
    return 0;
}
