/* Threads and processes against native Linux: pthreads (a mutex-protected
 * counter, a condition variable, join with return values, a timed wait
 * that times out), fork + waitpid status encoding, vfork + exec. Every
 * line printed must match the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter, finished;

static void *work(void *arg) {
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (i % 1000 == 0)
            sched_yield();
    }
    pthread_mutex_lock(&lock);
    finished++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    /* A thread id differs from the process id. */
    return (void *)((long)arg * 10 + (syscall(SYS_gettid) != getpid()));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, work, (void *)i) != 0)
            return 1;
    pthread_mutex_lock(&lock);
    while (finished < THREADS)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter %ld finished %ld sum %ld\n", counter, finished, sum);

    /* A timed wait nobody signals times out. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    int rc = pthread_cond_timedwait(&cond, &lock, &ts);
    pthread_mutex_unlock(&lock);
    printf("timedwait %s\n", rc == ETIMEDOUT ? "ETIMEDOUT" : "other");

    /* fork: the child sees a copy of memory; exit codes come back. */
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        counter = -1;
        _exit(counter == -1 ? 42 : 1);
    }
    pid_t w = waitpid(pid, &st, 0);
    printf("fork: waited %d exited %d code %d parent counter %ld\n", w == pid, WIFEXITED(st), WEXITSTATUS(st), counter);
    pid = fork();
    if (pid == 0)
        abort();
    waitpid(pid, &st, 0);
    printf("abort: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
    int none = (int)waitpid(-1, &st, 0);
    printf("no children: %d %d\n", none, errno == ECHILD);

    /* vfork + exec, output through a pipe. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid = vfork();
    if (pid == 0) {
        dup2(p[1], 1);
        execl("/bin/echo", "echo", "from", "exec", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[64];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    waitpid(pid, &st, 0);
    printf("vfork: %s", buf);
    pid_t me = getpid();
    pid = fork();
    if (pid == 0) {
        printf("getppid in child: %d, pid differs: %d\n", getppid() == me, getpid() != me);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
