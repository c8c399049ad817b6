/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace_topology.h: the networks the test programs run their
 * connections in: a network namespace of one's own with its loopback up,
 * and two namespaces joined by a veth pair with netem (struct topo), built
 * with rtnetlink. Nothing here asserts: each function returns 0 or an
 * error (topo_setup(), why it failed), for the kselftest_harness.h
 * programs and tcptrace_workload alike. The functions are static inline
 * because each program uses only some of them; the program defines
 * _GNU_SOURCE.
 */
#ifndef TCPTRACE_TOPOLOGY_H
#define TCPTRACE_TOPOLOGY_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

/* ---- A network namespace of one's own ------------------------------------ */

/* The network namespace of this process, as an inode number. */
static inline unsigned long long netns_inode(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return st.st_ino;
}

/* ip link set NAME up, in the current netns: 0, or -1 with errno. */
static inline int if_set_up(const char *name)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return ret;
}

/* The loopback of the current netns up (a new netns has it down). */
static inline int lo_up(void)
{
	return if_set_up("lo");
}

/* A network namespace of our own, its loopback up. 0, or -1 with errno. */
static inline int netns_new(void)
{
	if (unshare(CLONE_NEWNET))
		return -1;
	return lo_up();
}

/* ---- Two network namespaces joined by a veth pair ------------------------ */

/*
 * Side 0 (device va) and side 1 (device vb), each in a netns of its own
 * and with a netem qdisc delaying what it sends by 50 ms, so that packets
 * sent at the same time cross on the wire. Neighbours are permanent
 * entries (no ARP/ND to wait for), among them an absent host: what is sent
 * to it, and to the network routed through it, is dropped without a word
 * (the other side is not its destination MAC).
 *
 * Built with rtnetlink, not ip(8) and tc(8): in an emulated guest every
 * process costs a good part of a second.
 */
#define TOPO_DELAY_NS	50000000LL
/*
 * Where two packets must cross, a longer one: an emulated guest may
 * stall for tens of milliseconds between two system calls.
 */
#define TOPO_CROSS_NS	400000000LL

struct topo {
	bool up;
	int af;
	int fd[2];			/* each side's netns */
	int init_fd;
	unsigned long long inum[2];
	char addr[2][INET6_ADDRSTRLEN];
	char absent[INET6_ADDRSTRLEN];	/* a neighbour that never answers */
	char spoofed[INET6_ADDRSTRLEN];	/* a source in a network routed through it */
	char spoofed_net[INET6_ADDRSTRLEN];
	int spoofed_len;
};

struct nlreq {
	struct nlmsghdr n;
	char buf[2048];
};

static inline void nlreq_init(struct nlreq *r, int type, int flags, const void *hdr, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(len);
	r->n.nlmsg_type = type;
	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	memcpy(NLMSG_DATA(&r->n), hdr, len);
}

/*
 * The attribute's place is reckoned from @r, not &r->n (the same address):
 * it lies in r->buf, which a compiler that inlines this would otherwise
 * take for a write past the end of r->n.
 */
static inline struct rtattr *nl_put(struct nlreq *r, int type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static inline void nl_end(struct nlreq *r, struct rtattr *nest)
{
	nest->rta_len = (char *)&r->n + r->n.nlmsg_len - (char *)nest;
}

/* Send one request on a rtnetlink socket of the current netns; 0 or -errno. */
static inline int nl_talk(struct nlreq *r)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsghdr *h;
	ssize_t n;
	int fd, err = -EIO;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &r->n, r->n.nlmsg_len, 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	h = (struct nlmsghdr *)buf;
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR)
		err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	close(fd);
	return err;
}

/*
 * Whether @addr is one of the current netns's own, as the routing table
 * sees it (ip route get ADDR: type local). An IPv6 address added with
 * nodad can be bound at once, but its local route is inserted later, by
 * the DAD work that runs once the link is up (addrconf_dad_completed());
 * until then a packet to it is routed out of the veth and lost.
 */
static inline bool addr_routes_local(int af, const char *addr)
{
	struct rtmsg rtm = { .rtm_family = af, .rtm_dst_len = af == AF_INET ? 32 : 128 };
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	unsigned char bin[16];
	struct nlreq r;
	char buf[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;
	int fd;

	inet_pton(af, addr, bin);
	nlreq_init(&r, RTM_GETROUTE, 0, &rtm, sizeof(rtm));
	nl_put(&r, RTA_DST, bin, af == AF_INET ? 4 : 16);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return false;
	n = -1;
	if (sendto(fd, &r.n, r.n.nlmsg_len, 0, (struct sockaddr *)&nl, sizeof(nl)) >= 0)
		n = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	return n >= (ssize_t)NLMSG_LENGTH(sizeof(rtm)) && h->nlmsg_type == RTM_NEWROUTE &&
	       ((struct rtmsg *)NLMSG_DATA(h))->rtm_type == RTN_LOCAL;
}

/*
 * Whether an interface of the current netns is operational: the stack
 * sends through its qdisc only once linkwatch activated it after the
 * carrier came up (until then the noop qdisc drops everything), up to a
 * second later.
 */
static inline bool if_running(const char *name)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return !ret && (ifr.ifr_flags & IFF_RUNNING);
}

/* ip link add va address MAC type veth peer name vb address MAC netns B */
static inline int nl_add_veth(int peer_ns)
{
	static const unsigned char mac_a[6] = { 2, 0, 0, 0, 0, 1 }, mac_b[6] = { 2, 0, 0, 0, 0, 2 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *linkinfo, *data, *peer;
	struct nlreq r;

	nlreq_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_put(&r, IFLA_IFNAME, "va", 3);
	nl_put(&r, IFLA_ADDRESS, mac_a, 6);
	linkinfo = nl_put(&r, IFLA_LINKINFO, NULL, 0);
	nl_put(&r, IFLA_INFO_KIND, "veth", 5);
	data = nl_put(&r, IFLA_INFO_DATA, NULL, 0);
	peer = nl_put(&r, VETH_INFO_PEER, &ifi, sizeof(ifi));
	nl_put(&r, IFLA_IFNAME, "vb", 3);
	nl_put(&r, IFLA_ADDRESS, mac_b, 6);
	nl_put(&r, IFLA_NET_NS_FD, &peer_ns, sizeof(peer_ns));
	nl_end(&r, peer);
	nl_end(&r, data);
	nl_end(&r, linkinfo);
	return nl_talk(&r);
}

/* ip addr add ADDR/LEN dev DEV nodad */
static inline int nl_add_addr(int af, const char *dev, const char *addr, int len)
{
	struct ifaddrmsg ifa = {
		.ifa_family = af, .ifa_prefixlen = len, .ifa_flags = IFA_F_NODAD,
		.ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = if_nametoindex(dev),
	};
	unsigned char bin[16];
	struct nlreq r;

	inet_pton(af, addr, bin);
	nlreq_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put(&r, IFA_LOCAL, bin, af == AF_INET ? 4 : 16);
	nl_put(&r, IFA_ADDRESS, bin, af == AF_INET ? 4 : 16);
	return nl_talk(&r);
}

/* ip neigh add ADDR lladdr 02:00:00:00:00:LAST dev DEV nud permanent */
static inline int nl_add_neigh(int af, const char *dev, const char *addr, int last)
{
	unsigned char mac[6] = { 2, 0, 0, 0, 0, last }, bin[16];
	struct ndmsg ndm = {
		.ndm_family = af, .ndm_ifindex = if_nametoindex(dev),
		.ndm_state = NUD_PERMANENT,
	};
	struct nlreq r;

	inet_pton(af, addr, bin);
	nlreq_init(&r, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, &ndm, sizeof(ndm));
	nl_put(&r, NDA_DST, bin, af == AF_INET ? 4 : 16);
	nl_put(&r, NDA_LLADDR, mac, 6);
	return nl_talk(&r);
}

/* ip route add NET/LEN via GATEWAY dev DEV */
static inline int nl_add_route(int af, const char *dev, const char *net, int len, const char *gw)
{
	struct rtmsg rtm = {
		.rtm_family = af, .rtm_dst_len = len, .rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	unsigned char dst[16], via[16];
	int oif = if_nametoindex(dev);
	struct nlreq r;

	inet_pton(af, net, dst);
	inet_pton(af, gw, via);
	nlreq_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	nl_put(&r, RTA_DST, dst, af == AF_INET ? 4 : 16);
	nl_put(&r, RTA_GATEWAY, via, af == AF_INET ? 4 : 16);
	nl_put(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(&r);
}

/*
 * tc qdisc add (or change) dev DEV root netem delay 50ms [loss 100%]. The
 * netem options are a struct tc_netem_qopt followed by attributes.
 */
static inline int nl_netem(const char *dev, bool create, bool lose_all, long long latency)
{
	struct tcmsg tcm = {
		.tcm_family = AF_UNSPEC, .tcm_ifindex = if_nametoindex(dev),
		.tcm_parent = TC_H_ROOT,
	};
	struct tc_netem_qopt qopt = { .limit = 1000, .loss = lose_all ? ~0U : 0 };
	struct rtattr *opts;
	struct nlreq r;

	nlreq_init(&r, RTM_NEWQDISC, create ? NLM_F_CREATE | NLM_F_EXCL : 0, &tcm, sizeof(tcm));
	nl_put(&r, TCA_KIND, "netem", 6);
	opts = nl_put(&r, TCA_OPTIONS, &qopt, sizeof(qopt));
	nl_put(&r, TCA_NETEM_LATENCY64, &latency, sizeof(latency));
	nl_end(&r, opts);
	return nl_talk(&r);
}

/* Into side @side's netns, or back to the initial one (-1). */
static inline int topo_enter(struct topo *t, int side)
{
	return setns(side < 0 ? t->init_fd : t->fd[side], CLONE_NEWNET);
}

static inline void topo_destroy(struct topo *t)
{
	int i;

	if (!t->up)
		return;
	setns(t->init_fd, CLONE_NEWNET);
	for (i = 0; i < 2; i++) {
		if (t->fd[i] >= 0)
			close(t->fd[i]);
		t->fd[i] = -1;
	}
	close(t->init_fd);
	t->up = false;
}

/*
 * Returns NULL, or why the topology could not be built: *@fail tells a
 * kernel without veth or netem (a skip) from a step that should work.
 */
static inline const char *topo_setup(struct topo *t, int af, bool *fail)
{
	static char why[128];
	int prefix = af == AF_INET6 ? 64 : 24, i, err = 0;
	const char *step = "";
	struct stat st;

	memset(t, 0, sizeof(*t));
	t->af = af;
	*fail = false;
	if (af == AF_INET6) {
		strcpy(t->addr[0], "fd00:99::1");
		strcpy(t->addr[1], "fd00:99::2");
		strcpy(t->absent, "fd00:99::9");
		strcpy(t->spoofed, "fd00:98::1");
		strcpy(t->spoofed_net, "fd00:98::");
		t->spoofed_len = 64;
	} else {
		strcpy(t->addr[0], "10.99.0.1");
		strcpy(t->addr[1], "10.99.0.2");
		strcpy(t->absent, "10.99.0.9");
		strcpy(t->spoofed, "10.99.1.1");
		strcpy(t->spoofed_net, "10.99.1.0");
		t->spoofed_len = 24;
	}
	t->fd[0] = t->fd[1] = -1;
	t->init_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->init_fd < 0)
		return "cannot open /proc/self/ns/net";
	t->up = true;
	for (i = 0; i < 2; i++) {
		if (topo_enter(t, -1) || unshare(CLONE_NEWNET) || if_set_up("lo")) {
			topo_destroy(t);
			return "cannot make a network namespace";
		}
		t->fd[i] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (t->fd[i] < 0 || fstat(t->fd[i], &st)) {
			topo_destroy(t);
			return "cannot open /proc/self/ns/net";
		}
		t->inum[i] = st.st_ino;
	}
	/* Side 1's netns is the current one: build from side 0's. */
	if (topo_enter(t, 0) || (err = nl_add_veth(t->fd[1])) ||
	    (err = nl_netem("va", true, false, TOPO_DELAY_NS))) {
		snprintf(why, sizeof(why), "no veth pair with netem (CONFIG_VETH, "
			 "CONFIG_NET_SCH_NETEM): %s", strerror(-err));
		topo_destroy(t);
		return why;
	}
	*fail = true;
	for (i = 0; i < 2 && !err; i++) {
		const char *dev = i ? "vb" : "va";

		if (topo_enter(t, i) && (err = -errno))
			break;
		step = "netem";
		if (i && (err = nl_netem(dev, true, false, TOPO_DELAY_NS)))
			break;
		step = "address";
		if ((err = nl_add_addr(af, dev, t->addr[i], prefix)))
			break;
		step = "neighbour";
		if ((err = nl_add_neigh(af, dev, t->addr[!i], i ? 1 : 2)) ||
		    (err = nl_add_neigh(af, dev, t->absent, 9)))
			break;
		step = "link up";
		if (if_set_up(dev) && (err = -errno))
			break;
		step = "route";
		if (!i && (err = nl_add_route(af, dev, t->spoofed_net, t->spoofed_len,
					      t->absent)))
			break;
	}
	step = "waiting for the link and the local route of its address";
	for (i = 0; i < 2 && !err; i++) {
		int tries;

		if (topo_enter(t, i) && (err = -errno))
			break;
		for (tries = 0; !if_running(i ? "vb" : "va") ||
				!addr_routes_local(af, t->addr[i]); tries++) {
			if (tries == 500) {
				err = -ETIMEDOUT;
				break;
			}
			usleep(10 * 1000);
		}
	}
	if (topo_enter(t, -1) && !err)
		err = -errno;
	if (err) {
		snprintf(why, sizeof(why), "setting up the veth pair (%s): %s", step,
			 strerror(-err));
		topo_destroy(t);
		return why;
	}
	return NULL;
}

/* Both sides' netem delay. */
static inline int topo_delay(struct topo *t, long long latency)
{
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++)
		err = topo_enter(t, i) ? -errno : nl_netem(i ? "vb" : "va", false, false, latency);
	if (topo_enter(t, -1) && !err)
		err = -errno;
	return err;
}

#endif /* TCPTRACE_TOPOLOGY_H */
