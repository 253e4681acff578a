/* Sockets: errno cases and exact results, compared line by line with
 * native Linux. AF_UNIX (filesystem names in a scratch directory under
 * /tmp, abstract names) and loopback TCP/UDP. Prints no pids, ports or
 * paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

/* An address nothing is mapped at, hidden from the compiler's checks. */
static void *volatile bad_ptr = (void *)8;
#define BAD (bad_ptr)

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
    fflush(stdout);
}

static socklen_t un_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static int tcp_listener(struct sockaddr_in *where) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 8);
    socklen_t l = sizeof *where;
    getsockname(s, (struct sockaddr *)where, &l);
    return s;
}

static volatile int sigpipes;
static void on_pipe(int sig) {
    (void)sig;
    sigpipes++;
}

static void errno_cases(void) {
    int devnull = open("/dev/null", O_RDWR);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof in;
    char buf[64];

    show("socket bad family", socket(12345, SOCK_STREAM, 0));
    show("socket bad type", socket(AF_INET, 77, 0));
    show("socket tcp+udp proto", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    show("socket unix seqpacket", socket(AF_UNIX, SOCK_SEQPACKET, 0) >= 0);
    show("socket inet seqpacket", socket(AF_INET, SOCK_SEQPACKET, 0));

    show("bind EBADF", bind(999, (struct sockaddr *)&in, sizeof in));
    show("bind ENOTSOCK", bind(devnull, (struct sockaddr *)&in, sizeof in));
    show("connect ENOTSOCK", connect(devnull, (struct sockaddr *)&in, sizeof in));
    show("listen ENOTSOCK", listen(devnull, 1));
    show("accept ENOTSOCK", accept(devnull, NULL, NULL));
    show("getsockname ENOTSOCK", getsockname(devnull, (struct sockaddr *)&in, &len));
    show("getpeername EBADF", getpeername(999, (struct sockaddr *)&in, &len));
    show("getsockopt ENOTSOCK", getsockopt(devnull, SOL_SOCKET, SO_TYPE, buf, &len));
    show("shutdown ENOTSOCK", shutdown(devnull, SHUT_RD));
    show("send ENOTSOCK", send(devnull, "x", 1, 0));
    show("recv ENOTSOCK", recv(devnull, buf, 1, 0));
    show("sendto EBADF", sendto(-1, "x", 1, 0, NULL, 0));

    int t = socket(AF_INET, SOCK_STREAM, 0);
    show("bind short len", bind(t, (struct sockaddr *)&in, 15));
    show("bind negative len", bind(t, (struct sockaddr *)&in, -1));
    show("bind huge len", bind(t, (struct sockaddr *)&in, 4096));
    show("bind EFAULT", bind(t, BAD, sizeof in));
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    show("bind v6 addr on v4", bind(t, (struct sockaddr *)&six, sizeof six));
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_addr.s_addr = inet_addr("192.0.2.1")};
    show("bind EADDRNOTAVAIL", bind(t, (struct sockaddr *)&far, sizeof far));
    show("connect len 0", connect(t, (struct sockaddr *)&in, 0));
    show("getpeername ENOTCONN", getpeername(t, (struct sockaddr *)&in, &len));
    show("recv tcp ENOTCONN", recv(t, buf, 1, 0));
    show("shutdown tcp ENOTCONN", shutdown(t, SHUT_RDWR));
    show("shutdown bad how", shutdown(t, 7));
    show("accept not listening", accept(t, NULL, NULL));
    show("accept4 bad flags", accept4(t, NULL, NULL, 1));
    len = 2;
    show("setsockopt short", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, buf, 2));
    show("setsockopt EFAULT", setsockopt(t, SOL_SOCKET, SO_REUSEADDR, BAD, 4));
    show("setsockopt SO_TYPE", setsockopt(t, SOL_SOCKET, SO_TYPE, &(int){1}, 4));
    show("setsockopt unknown", setsockopt(t, SOL_SOCKET, 9999, &(int){1}, 4));
    int neg = -1;
    show("getsockopt negative len", getsockopt(t, SOL_SOCKET, SO_TYPE, buf, (socklen_t *)&neg));
    len = 4;
    show("getsockopt EFAULT", getsockopt(t, SOL_SOCKET, SO_TYPE, BAD, &len));
    short two = 0;
    len = 2;
    show("getsockopt 2 bytes", getsockopt(t, SOL_SOCKET, SO_TYPE, &two, &len));
    printf("  value %d len %d\n", two, len);
    int v = 0;
    len = sizeof v;
    getsockopt(t, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    printf("SO_PROTOCOL %d\n", v);
    getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    printf("TCP_NODELAY %d\n", v);
    setsockopt(t, SOL_SOCKET, SO_RCVBUF, &(int){10000}, 4);
    getsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf("SO_RCVBUF after 10000: %d\n", v);
    show("getsockname EFAULT len", getsockname(t, (struct sockaddr *)&in, BAD));
    len = sizeof in;
    show("getsockname EFAULT addr", getsockname(t, BAD, &len));
    show("getsockname NULL addr", getsockname(t, NULL, &len));
    len = 0;
    show("getsockname NULL addr, zero length", getsockname(t, NULL, &len));
    printf("  len %d\n", len);
    show("send unconnected tcp (EPIPE, SIGPIPE ignored)", send(t, "x", 1, 0));
    close(t);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    show("listen udp", listen(u, 1));
    show("send udp no destination", send(u, "x", 1, 0));
    show("accept udp", accept(u, NULL, NULL));
    close(u);

    show("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));
    show("socketpair EFAULT", socketpair(AF_UNIX, SOCK_STREAM, 0, BAD));
    close(devnull);
}

static void tcp_cases(void) {
    struct sockaddr_in where;
    int l = tcp_listener(&where);
    printf("ephemeral port in range: %d\n", ntohs(where.sin_port) >= 32768 && ntohs(where.sin_port) <= 60999);
    int t2 = socket(AF_INET, SOCK_STREAM, 0);
    show("bind same port EADDRINUSE", bind(t2, (struct sockaddr *)&where, sizeof where));
    setsockopt(t2, SOL_SOCKET, SO_REUSEADDR, &(int){1}, 4);
    show("bind same port to a listener with SO_REUSEADDR", bind(t2, (struct sockaddr *)&where, sizeof where));
    close(t2);

    struct pollfd p = {.fd = l, .events = POLLIN | POLLOUT};
    show("poll idle listener", poll(&p, 1, 0));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    p.fd = c;
    poll(&p, 1, 0);
    printf("unconnected tcp revents %#x\n", p.revents);
    show("connect", connect(c, (struct sockaddr *)&where, sizeof where));
    show("connect again EISCONN", connect(c, (struct sockaddr *)&where, sizeof where));
    p.fd = l;
    poll(&p, 1, 0);
    printf("listener with pending revents %#x\n", p.revents);
    struct sockaddr_in peer;
    socklen_t len = 4;
    int a = accept4(l, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    printf("accept4 ok %d short addrlen reported %d flags nonblock %d cloexec %d\n", a >= 0, len, !!(fcntl(a, F_GETFL) & O_NONBLOCK),
           !!(fcntl(a, F_GETFD) & FD_CLOEXEC));
    show("recv nonblocking nothing", recv(a, &len, 1, 0));
    struct sockaddr_in mine, theirs;
    len = sizeof mine;
    getsockname(c, (struct sockaddr *)&mine, &len);
    len = sizeof theirs;
    getpeername(a, (struct sockaddr *)&theirs, &len);
    printf("peer of accepted is client: %d len %d\n", mine.sin_port == theirs.sin_port && mine.sin_addr.s_addr == theirs.sin_addr.s_addr, len);
    send(c, "hello", 5, 0);
    int n = 0;
    ioctl(a, FIONREAD, &n);
    printf("FIONREAD %d\n", n);
    char buf[16];
    show("recv bad buffer EFAULT", recv(a, BAD, 5, 0));
    show("recv after EFAULT keeps data", recv(a, buf, sizeof buf, 0));
    p.fd = c;
    p.events = POLLIN | POLLOUT | POLLRDHUP;
    close(a);
    poll(&p, 1, 0);
    printf("after peer close revents %#x\n", p.revents);
    show("read EOF", read(c, buf, sizeof buf));
    len = sizeof theirs;
    show("getpeername after the peer's FIN", getpeername(c, (struct sockaddr *)&theirs, &len));
    show("first write after peer close", write(c, "x", 1));
    show("second write EPIPE", write(c, "x", 1));
    len = sizeof theirs;
    show("getpeername after reset", getpeername(c, (struct sockaddr *)&theirs, &len));
    close(c);
    /* both sides shut down writing: closed */
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&where, sizeof where);
    a = accept(l, NULL, NULL);
    shutdown(a, SHUT_WR);
    shutdown(c, SHUT_WR);
    usleep(10000);
    len = sizeof theirs;
    show("getpeername after both FINs", getpeername(c, (struct sockaddr *)&theirs, &len));
    len = sizeof theirs;
    show("getpeername on the other side", getpeername(a, (struct sockaddr *)&theirs, &len));
    close(a);
    close(c);
    close(l);
    /* closing with unread data resets the connection */
    l = tcp_listener(&where);
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&where, sizeof where);
    a = accept(l, NULL, NULL);
    send(c, "never read", 10, 0);
    usleep(10000);
    close(a);
    usleep(10000);
    p.fd = c;
    p.events = POLLIN | POLLOUT | POLLRDHUP;
    poll(&p, 1, 0);
    printf("after reset revents %#x\n", p.revents);
    show("recv after reset", recv(c, buf, sizeof buf, 0));
    show("recv again", recv(c, buf, sizeof buf, 0));
    show("send after reset", send(c, "x", 1, 0));
    close(c);
    close(l);
    /* shutting a listener down */
    l = tcp_listener(&where);
    show("shutdown listener SHUT_WR", shutdown(l, SHUT_WR));
    show("shutdown listener SHUT_RD", shutdown(l, SHUT_RD));
    show("accept after", accept(l, NULL, NULL));
    int acc = -1;
    len = sizeof acc;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
    printf("still listening %d\n", acc);
    close(l);
    struct sockaddr_un sun;
    int ul = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(ul, (struct sockaddr *)&sun, abstract_addr(&sun, "oxvm-shut-listener"));
    listen(ul, 4);
    show("shutdown unix listener", shutdown(ul, SHUT_RDWR));
    show("unix accept after", accept(ul, NULL, NULL));
    close(ul);
    c = socket(AF_INET, SOCK_STREAM, 0);
    show("connect closed port ECONNREFUSED", connect(c, (struct sockaddr *)&where, sizeof where));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("nonblocking connect refused", connect(c, (struct sockaddr *)&where, sizeof where));
    int err = 0;
    len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("SO_ERROR %s\n", strerrorname_np(err));
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("SO_ERROR again %d\n", err);
    close(c);

    /* v6 socket names */
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    show("bind ::1", bind(s6, (struct sockaddr *)&a6, sizeof a6));
    struct sockaddr_storage ss;
    len = sizeof ss;
    getsockname(s6, (struct sockaddr *)&ss, &len);
    printf("v6 name len %d family %d\n", len, ss.ss_family);
    show("bind ::1 short len", bind(socket(AF_INET6, SOCK_STREAM, 0), (struct sockaddr *)&a6, 20));
    close(s6);
    s6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &(int){1}, 4);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = where.sin_port};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    show("v6only connect to a mapped address", connect(s6, (struct sockaddr *)&mapped, sizeof mapped));
    show("v6only bind to a mapped address", bind(s6, (struct sockaddr *)&mapped, sizeof mapped));
    close(s6);

    /* UDP: datagrams keep boundaries and the sender */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u1, (struct sockaddr *)&ua, sizeof ua);
    len = sizeof ua;
    getsockname(u1, (struct sockaddr *)&ua, &len);
    sendto(u2, "abc", 3, 0, (struct sockaddr *)&ua, sizeof ua);
    sendto(u2, "defgh", 5, 0, (struct sockaddr *)&ua, sizeof ua);
    struct sockaddr_in from;
    len = sizeof from;
    show("udp recvfrom", recvfrom(u1, buf, 2, 0, (struct sockaddr *)&from, &len));
    printf("  from len %d family %d addr ok %d\n", len, from.sin_family, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    show("udp MSG_TRUNC", recv(u1, buf, 2, MSG_TRUNC));
    show("udp nothing left", recv(u1, buf, 2, MSG_DONTWAIT));
    close(u1);
    close(u2);
}

static void unix_cases(const char *dir) {
    char path[256];
    struct sockaddr_un a;
    snprintf(path, sizeof path, "%s/listener", dir);
    socklen_t alen = un_addr(&a, path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    umask(022);
    show("bind path", bind(l, (struct sockaddr *)&a, alen));
    struct stat st;
    stat(path, &st);
    printf("node is socket %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 07777);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind existing path EADDRINUSE", bind(l2, (struct sockaddr *)&a, alen));
    struct sockaddr_un got;
    socklen_t len = sizeof got;
    getsockname(l, (struct sockaddr *)&got, &len);
    printf("getsockname len = 2 + strlen + 1: %d\n", len == offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    len = 4;
    getsockname(l, (struct sockaddr *)&got, &len);
    printf("short buffer still reports the full length: %d\n", len == offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    show("connect before listen ECONNREFUSED", connect(c, (struct sockaddr *)&a, alen));
    listen(l, 5);
    show("listen dgram", listen(socket(AF_UNIX, SOCK_DGRAM, 0), 1));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("connect dgram to stream EPROTOTYPE", connect(d, (struct sockaddr *)&a, alen));
    close(d);
    if (chdir(dir) == 0) {
        struct sockaddr_un rel;
        show("connect relative path", connect(c, (struct sockaddr *)&rel, un_addr(&rel, "listener")));
        chdir("/");
    }
    show("connect again EISCONN", connect(c, (struct sockaddr *)&a, alen));
    len = sizeof got;
    getpeername(c, (struct sockaddr *)&got, &len);
    printf("peer name matches: %d\n", strcmp(got.sun_path, path) == 0);
    len = sizeof got;
    getsockname(c, (struct sockaddr *)&got, &len);
    printf("unbound client name len %d\n", len);
    len = sizeof got;
    int s = accept(l, (struct sockaddr *)&got, &len);
    printf("accepted peer len %d\n", len);
    len = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &len);
    printf("accepted local is the listener: %d\n", strcmp(got.sun_path, path) == 0);
    show("sendto with address on connected stream", sendto(c, "x", 1, 0, (struct sockaddr *)&a, alen));
    int outq = -1;
    send(c, "abcdef", 6, 0);
    ioctl(c, SIOCOUTQ, &outq);
    printf("SIOCOUTQ counts the unread bytes: %d\n", outq > 0);
    char buf[64];
    show("recv MSG_PEEK", recv(s, buf, 3, MSG_PEEK));
    show("recv", recv(s, buf, sizeof buf, 0));
    struct stat fs;
    fstat(s, &fs);
    printf("fstat S_IFSOCK %d\n", S_ISSOCK(fs.st_mode));

    /* SIGPIPE: ignored gives EPIPE; MSG_NOSIGNAL suppresses a handler */
    signal(SIGPIPE, on_pipe);
    shutdown(s, SHUT_RD);
    show("send to a peer that shut reading, MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
    printf("sigpipes %d\n", sigpipes);
    show("send to a peer that shut reading", send(c, "x", 1, 0));
    printf("sigpipes %d\n", sigpipes);
    signal(SIGPIPE, SIG_IGN);
    close(s);
    close(c);

    /* the listener's node outlives it */
    close(l);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    show("connect after listener closed", connect(c, (struct sockaddr *)&a, alen));
    struct sockaddr_un none;
    snprintf(path, sizeof path, "%s/nothing", dir);
    show("connect missing ENOENT", connect(c, (struct sockaddr *)&none, un_addr(&none, path)));
    show("connect to a directory", connect(c, (struct sockaddr *)&none, un_addr(&none, dir)));
    show("bind len 1 EINVAL", bind(c, (struct sockaddr *)&a, 1));
    show("bind len 111 EINVAL", bind(c, (struct sockaddr *)&a, 111));
    struct sockaddr_un empty = {.sun_family = AF_UNIX};
    show("autobind", bind(c, (struct sockaddr *)&empty, offsetof(struct sockaddr_un, sun_path)));
    len = sizeof got;
    getsockname(c, (struct sockaddr *)&got, &len);
    printf("autobind name len %d abstract %d\n", len, got.sun_path[0] == 0);
    show("bind again EINVAL", bind(c, (struct sockaddr *)&a, alen));
    close(c);

    /* abstract names: per type, exact lengths */
    struct sockaddr_un ab;
    socklen_t ablen = abstract_addr(&ab, "oxvm-c-test");
    int al = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind abstract", bind(al, (struct sockaddr *)&ab, ablen));
    int ad = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("same abstract name, other type", bind(ad, (struct sockaddr *)&ab, ablen));
    len = sizeof got;
    getsockname(al, (struct sockaddr *)&got, &len);
    printf("abstract name len %d\n", len);
    show("listen", listen(al, 0));
    int ac = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("nonblocking unix connect is immediate", connect(ac, (struct sockaddr *)&ab, ablen));
    int full = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("backlog 0 full: nonblocking connect", connect(full, (struct sockaddr *)&ab, ablen));
    close(full);
    struct pollfd p = {.fd = ac, .events = POLLIN | POLLOUT};
    poll(&p, 1, 0);
    printf("connected unix revents %#x\n", p.revents);
    int as = accept(al, NULL, NULL);
    close(as);
    poll(&p, 1, 0);
    printf("peer closed unix revents %#x\n", p.revents);
    show("write to closed unix peer EPIPE", write(ac, "x", 1));
    close(ac);
    close(al);
    close(ad);

    /* dgram: connect, EPERM from a socket connected elsewhere, sendmmsg/recvmmsg */
    int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0), d3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un n1, n2;
    socklen_t l1 = abstract_addr(&n1, "oxvm-d1"), l2n = abstract_addr(&n2, "oxvm-d2");
    bind(d1, (struct sockaddr *)&n1, l1);
    bind(d2, (struct sockaddr *)&n2, l2n);
    show("dgram connect", connect(d1, (struct sockaddr *)&n2, l2n));
    show("send to a socket connected elsewhere EPERM", sendto(d3, "x", 1, 0, (struct sockaddr *)&n1, l1));
    show("dgram send unconnected ENOTCONN", send(d3, "x", 1, 0));
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char bufs[3][8];
    const char *words[3] = {"one", "three", "fives"};
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = (void *)words[i];
        iv[i].iov_len = strlen(words[i]);
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    show("sendmmsg", sendmmsg(d1, mm, 3, 0));
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = bufs[i];
        iv[i].iov_len = 4;
        mm[i].msg_hdr.msg_name = &got;
        mm[i].msg_hdr.msg_namelen = sizeof got;
    }
    show("recvmmsg", recvmmsg(d2, mm, 3, MSG_DONTWAIT, NULL));
    for (int i = 0; i < 3; i++)
        printf("  len %u flags %#x namelen %d\n", mm[i].msg_len, mm[i].msg_hdr.msg_flags, mm[i].msg_hdr.msg_namelen);
    int sent = 0;
    while (sent < 100 && sendto(d3, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&n2, l2n) == 1)
        sent++;
    printf("datagrams queued at an unconnected receiver: %d (%s)\n", sent, strerrorname_np(errno));
    close(d1);
    show("send to closed dgram peer ECONNREFUSED", send(d2, "x", 1, 0));
    show("sendto missing abstract ECONNREFUSED", sendto(d3, "x", 1, 0, (struct sockaddr *)&n1, l1));
    close(d2);
    close(d3);
}

static void process_cases(const char *dir) {
    char path[256];
    struct sockaddr_un a;
    snprintf(path, sizeof path, "%s/forked", dir);
    socklen_t alen = un_addr(&a, path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, alen);
    listen(l, 1);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, alen);
        struct ucred cr;
        socklen_t len = sizeof cr;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len);
        char m[64];
        snprintf(m, sizeof m, "listener pid is parent %d", cr.pid == getppid());
        send(c, m, 10, 0);
        usleep(20000);
        send(c, m + 10, strlen(m) - 10, 0);
        /* a large write blocks until the parent drains it */
        static char big[1 << 20];
        memset(big, 'z', sizeof big);
        ssize_t w = write(c, big, sizeof big);
        printf("child wrote %zd\n", w);
        fflush(stdout);
        _exit(0);
    }
    /* blocks until the child connects */
    int s = accept(l, NULL, NULL);
    struct ucred cr;
    socklen_t len = sizeof cr;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len);
    printf("peercred is the child %d uid %u gid %u len %d\n", cr.pid == pid, cr.uid, cr.gid, len);
    char m[64] = {0};
    ssize_t n = recv(s, m, 24, MSG_WAITALL);
    printf("MSG_WAITALL %zd: %s\n", n, m);
    long total = 0;
    char chunk[65536];
    while (total < (1 << 20)) {
        ssize_t r = read(s, chunk, sizeof chunk);
        if (r <= 0)
            break;
        total += r;
    }
    printf("parent read %ld\n", total);
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    close(s);
    close(l);
    unlink(path);

    /* SCM_RIGHTS with too little room: MSG_CTRUNC */
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int fds[2] = {open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY)};
    char cbuf[CMSG_SPACE(sizeof fds)];
    struct iovec iv = {.iov_base = "r", .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    show("sendmsg 2 fds", sendmsg(sv[0], &mh, 0));
    char rbuf[8];
    char small[CMSG_SPACE(sizeof(int))];
    struct iovec riv = {.iov_base = rbuf, .iov_len = sizeof rbuf};
    struct msghdr rh = {.msg_iov = &riv, .msg_iovlen = 1, .msg_control = small, .msg_controllen = sizeof small};
    show("recvmsg", recvmsg(sv[1], &rh, 0));
    printf("  flags %#x controllen %zu\n", rh.msg_flags, rh.msg_controllen);
    cm->cmsg_len = 3;
    show("sendmsg bad cmsg_len", sendmsg(sv[0], &mh, 0));
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    mh.msg_iovlen = 2000;
    show("sendmsg iovlen > UIO_MAXIOV", sendmsg(sv[0], &mh, 0));
    mh.msg_iovlen = 1;
    mh.msg_control = BAD;
    show("sendmsg control EFAULT", sendmsg(sv[0], &mh, 0));
    close(sv[0]);
    close(sv[1]);
    close(fds[0]);
    close(fds[1]);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/oxvm-sockets-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    errno_cases();
    tcp_cases();
    unix_cases(dir);
    process_cases(dir);
    char path[256];
    snprintf(path, sizeof path, "%s/listener", dir);
    unlink(path);
    rmdir(dir);
    printf("done\n");
    return 0;
}
