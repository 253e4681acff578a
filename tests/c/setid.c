// Real, effective and saved ids: the set*id calls' rules (who may switch
// to what, when the saved id follows), and the set-user-ID and
// set-group-ID bits on exec with AT_SECURE. Run as root; every scenario
// runs in a child so each starts from root again.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void ids(const char *what) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%-28s uid %u %u %u  gid %u %u %u\n", what, r, e, s, gr, ge, gs);
}

static void try(const char *what, int rc) {
    printf("%-28s -> %s\n", what, rc == 0 ? "ok" : strerror(errno));
}

static void scenario(const char *name, void (*f)(void)) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        printf("== %s\n", name);
        f();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
}

static void saved_root(void) {
    try("setresuid(1000,1000,0)", setresuid(1000, 1000, 0));
    ids("after");
    try("seteuid(0)", seteuid(0));
    ids("after");
    try("seteuid(1000)", seteuid(1000));
    try("setuid(0)", setuid(0));
    ids("after");
    try("setresuid(-1,2000,-1)", setresuid(-1, 2000, -1));
}

static void drop_all(void) {
    try("setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
    try("seteuid(0)", seteuid(0));
    try("setuid(1000)", setuid(1000));
    ids("after");
}

static void reuid(void) {
    try("setreuid(1000,-1)", setreuid(1000, -1));
    ids("after");
    try("setreuid(-1,2000)", setreuid(-1, 2000));
    ids("after");
    try("setreuid(-1,1000)", setreuid(-1, 1000));
    ids("after");
    try("setreuid(-1,0)", setreuid(-1, 0));
    try("setreuid(2000,-1)", setreuid(2000, -1));
    ids("after");
}

static void gids(void) {
    try("setresgid(100,100,0)", setresgid(100, 100, 0));
    try("setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
    try("setegid(0)", setegid(0));
    try("setgid(100)", setgid(100));
    try("setgid(5)", setgid(5));
    try("setregid(-1,100)", setregid(-1, 100));
    ids("after");
}

static char copy[4096];

static void run_copy(const char *mode_name, int nnp) {
    try("setresgid(100,100,100)", setresgid(100, 100, 100));
    try("setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
    if (nnp) try("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    fflush(stdout);
    execl(copy, copy, "report", mode_name, (char *)NULL);
    printf("exec: %s\n", strerror(errno));
}

static void exec_4755(void) { run_copy("4755", 0); }
static void exec_6755(void) { run_copy("6755", 0); }
static void exec_2745(void) { run_copy("2745", 0); }
static void exec_nnp(void) { run_copy("6755 no_new_privs", 1); }

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "report") == 0) {
        printf("%s: AT_SECURE %lu\n", argv[2], getauxval(AT_SECURE));
        ids("exec'd copy");
        try("setresuid(-1,1000,-1)", setresuid(-1, 1000, -1));
        try("setresuid(-1,2000,-1)", setresuid(-1, 2000, -1));
        try("seteuid(saved)", seteuid(65534));
        ids("after");
        return 0;
    }
    ids("start");
    scenario("saved root", saved_root);
    scenario("drop all", drop_all);
    scenario("setreuid", reuid);
    scenario("gids", gids);
    // A copy of this program owned by nobody:daemon beside it.
    snprintf(copy, sizeof copy, "%s.setid", argv[0]);
    FILE *in = fopen("/proc/self/exe", "rb"), *out = fopen(copy, "wb");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    chown(copy, 65534, 1);
    chmod(copy, 04755);
    scenario("exec 4755", exec_4755);
    chmod(copy, 06755);
    scenario("exec 6755", exec_6755);
    chmod(copy, 02745);
    scenario("exec 2745 (no group x)", exec_2745);
    chmod(copy, 06755);
    scenario("exec no_new_privs", exec_nnp);
    unlink(copy);
    printf("done\n");
    return 0;
}
