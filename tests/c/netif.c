/* The VM's network interfaces as programs see them: if_nameindex,
 * getifaddrs, a raw rtnetlink dump and the SIOCGIF* ioctls. Compared with a
 * native run in a network namespace whose only interface is loopback. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Print a call's result and errno, evaluating the call first (argument
 * evaluation order is unspecified). */
#define SHOW(label, call)                                                   \
    do {                                                                    \
        errno = 0;                                                          \
        long r_ = (long)(call);                                             \
        printf("%s: %ld errno=%d\n", label, r_, r_ < 0 ? errno : 0);         \
    } while (0)

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t n)
{
    if (!sa) return "-";
    if (sa->sa_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, n);
    if (sa->sa_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, n);
    snprintf(buf, n, "family %d", sa->sa_family);
    return buf;
}

static void names(void)
{
    struct if_nameindex *ni = if_nameindex();
    for (struct if_nameindex *p = ni; p && p->if_index; p++)
        printf("if %u %s\n", p->if_index, p->if_name);
    if_freenameindex(ni);
    char name[IF_NAMESIZE];
    printf("nametoindex lo=%u nope0=%u\n", if_nametoindex("lo"), if_nametoindex("nope0"));
    printf("indextoname 1=%s\n", if_indextoname(1, name) ? name : "-");
    errno = 0;
    char *r77 = if_indextoname(77, name);
    printf("indextoname 77=%s errno=%d\n", r77 ? "?" : "-", errno);
}

static void ifaddrs(void)
{
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) != 0) {
        perror("getifaddrs");
        return;
    }
    char a[64], m[64], b[64];
    for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
        printf("ifaddr %s family=%d addr=%s mask=%s bcast=%s flags=%#x\n", p->ifa_name, p->ifa_addr ? p->ifa_addr->sa_family : -1,
               p->ifa_addr && p->ifa_addr->sa_family != AF_PACKET ? addr_str(p->ifa_addr, a, sizeof a) : "-",
               addr_str(p->ifa_netmask, m, sizeof m), p->ifa_broadaddr ? addr_str(p->ifa_broadaddr, b, sizeof b) : "-",
               p->ifa_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_BROADCAST));
    freeifaddrs(ifa);
}

/* A raw dump: the message types, flags and names, and that the answers
 * carry our port and sequence number. */
static void dump(int type, int family)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    socklen_t len = sizeof me;
    getsockname(s, (struct sockaddr *)&me, &len);
    printf("unbound pid=%u len=%u\n", me.nl_pid, len);
    struct {
        struct nlmsghdr h;
        struct rtgenmsg g;
    } req = {.h = {.nlmsg_len = sizeof req, .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 4242},
             .g = {.rtgen_family = family}};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(s, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) != sizeof req) perror("sendto");
    len = sizeof me;
    getsockname(s, (struct sockaddr *)&me, &len);
    printf("bound pid-is-getpid=%d\n", me.nl_pid == (unsigned)getpid());
    char buf[16384];
    for (int done = 0; !done;) {
        struct sockaddr_nl from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            perror("recvfrom");
            break;
        }
        printf("datagram from pid=%u groups=%u\n", from.nl_pid, from.nl_groups);
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            printf(" msg type=%d flags=%#x seq=%u pid-ok=%d", h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq, h->nlmsg_pid == me.nl_pid);
            if (h->nlmsg_type == NLMSG_DONE) done = 1;
            if (h->nlmsg_type == RTM_NEWLINK) {
                struct ifinfomsg *ifi = NLMSG_DATA(h);
                printf(" index=%d type=%d up=%d", ifi->ifi_index, ifi->ifi_type, !!(ifi->ifi_flags & IFF_UP));
                int al = IFLA_PAYLOAD(h);
                for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, al); a = RTA_NEXT(a, al))
                    if (a->rta_type == IFLA_IFNAME) printf(" name=%s", (char *)RTA_DATA(a));
                    else if (a->rta_type == IFLA_MTU) printf(" mtu=%u", *(unsigned *)RTA_DATA(a));
            }
            if (h->nlmsg_type == RTM_NEWADDR) {
                struct ifaddrmsg *ifa = NLMSG_DATA(h);
                printf(" family=%d prefix=%d scope=%d index=%d", ifa->ifa_family, ifa->ifa_prefixlen, ifa->ifa_scope, ifa->ifa_index);
            }
            printf("\n");
        }
    }
    close(s);
}

static void errors(void)
{
    int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl other = {.nl_family = AF_NETLINK, .nl_pid = 12345};
    char x[32] = {0};
    SHOW("send to user port", sendto(s, x, sizeof x, 0, (struct sockaddr *)&other, sizeof other));
    struct sockaddr_nl me = {.nl_family = AF_NETLINK, .nl_pid = 777};
    SHOW("bind autobound to 777", bind(s, (struct sockaddr *)&me, sizeof me));
    int t = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    SHOW("bind 777", bind(t, (struct sockaddr *)&me, sizeof me));
    int w = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    SHOW("bind 777 again", bind(w, (struct sockaddr *)&me, sizeof me));
    SHOW("short address", bind(w, (struct sockaddr *)&me, 4));
    close(w);
    /* One link by index that does not exist: an error message. */
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {.h = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 9}, .i = {.ifi_index = 99}};
    send(s, &req, sizeof req, 0);
    char buf[4096];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    struct nlmsgerr *e = NLMSG_DATA(h);
    printf("getlink 99: n=%zd type=%d error=%d seq=%u\n", n, h->nlmsg_type, e->error, e->msg.nlmsg_seq);
    req.i.ifi_index = 1;
    req.h.nlmsg_flags |= NLM_F_ACK;
    send(s, &req, sizeof req, 0);
    n = recv(s, buf, sizeof buf, 0);
    printf("getlink 1: type=%d flags=%#x\n", h->nlmsg_type, h->nlmsg_flags);
    n = recv(s, buf, sizeof buf, 0);
    printf("ack: n=%zd type=%d error=%d\n", n, h->nlmsg_type, e->error);
    int type = 0;
    socklen_t tl = sizeof type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &tl);
    int dtype = 0;
    getsockopt(t, SOL_SOCKET, SO_TYPE, &dtype, &tl);
    printf("SO_TYPE raw=%d dgram=%d\n", type, dtype);
    SHOW("stream", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
    SHOW("protocol 31", socket(AF_NETLINK, SOCK_RAW, 31));
    close(s);
    close(t);
}

static void ioctls(void)
{
    int u = socket(AF_UNIX, SOCK_DGRAM, 0), in = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = {0};
    char a[64];
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFINDEX", ioctl(u, SIOCGIFINDEX, &r));
    printf(" index=%d\n", r.ifr_ifindex);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 1;
    SHOW("SIOCGIFNAME", ioctl(u, SIOCGIFNAME, &r));
    printf(" name=%s\n", r.ifr_name);
    r.ifr_ifindex = 50;
    SHOW("SIOCGIFNAME 50", ioctl(u, SIOCGIFNAME, &r));
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFFLAGS", ioctl(u, SIOCGIFFLAGS, &r));
    printf(" flags=%#x\n", r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
    SHOW("SIOCGIFMTU", ioctl(in, SIOCGIFMTU, &r));
    printf(" mtu=%d\n", r.ifr_mtu);
    SHOW("SIOCGIFADDR on AF_UNIX", ioctl(u, SIOCGIFADDR, &r));
    SHOW("SIOCGIFADDR", ioctl(in, SIOCGIFADDR, &r));
    printf(" addr=%s\n", addr_str(&r.ifr_addr, a, sizeof a));
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFNETMASK", ioctl(in, SIOCGIFNETMASK, &r));
    printf(" mask=%s\n", addr_str(&r.ifr_netmask, a, sizeof a));
    strcpy(r.ifr_name, "lo");
    SHOW("SIOCGIFHWADDR", ioctl(u, SIOCGIFHWADDR, &r));
    printf(" family=%d\n", r.ifr_hwaddr.sa_family);
    strcpy(r.ifr_name, "eth9");
    SHOW("SIOCGIFFLAGS eth9", ioctl(u, SIOCGIFFLAGS, &r));
    SHOW("SIOCGIFINDEX bad pointer", ioctl(u, SIOCGIFINDEX, (void *)16));
    struct ifconf ic = {.ifc_len = 0, .ifc_buf = NULL};
    SHOW("SIOCGIFCONF sizing", ioctl(in, SIOCGIFCONF, &ic));
    printf(" len=%d\n", ic.ifc_len);
    struct ifreq reqs[8];
    ic.ifc_len = sizeof reqs;
    ic.ifc_req = reqs;
    ioctl(in, SIOCGIFCONF, &ic);
    for (int i = 0; i < ic.ifc_len / (int)sizeof(struct ifreq); i++)
        printf("ifconf %s %s\n", reqs[i].ifr_name, addr_str(&reqs[i].ifr_addr, a, sizeof a));
    close(u);
    close(in);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    names();
    ifaddrs();
    dump(RTM_GETLINK, AF_UNSPEC);
    dump(RTM_GETADDR, AF_UNSPEC);
    dump(RTM_GETADDR, AF_INET);
    dump(RTM_GETADDR, AF_INET6);
    errors();
    ioctls();
    printf("done\n");
    return 0;
}
