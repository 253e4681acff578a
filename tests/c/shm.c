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

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    shared_vm();
    return 0;
}
