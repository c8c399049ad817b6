// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: the file operations of /dev/tcptrace.
 *
 * Each open file is a reader in one of two modes:
 *
 * - snapshot (the default): the first read (or lseek) formats all
 *   histories into a buffer of the reader's own; later reads, lseek() and
 *   short reads are served from it, and its end is end of file. A reader
 *   never sees half a record or a mix of two snapshots, and seeking back
 *   re-reads the very same one.
 *
 * - follow (after the "follow" command): like /dev/kmsg, the file has its
 *   own 64-bit position over done histories; a read returns whole records
 *   and blocks for new ones, O_NONBLOCK gives -EAGAIN, poll() works, and a
 *   position that the ring overwrote gives -EPIPE once before reading
 *   resumes at the oldest history held.
 *
 * A reader sees the histories of its own network namespace, or all of them
 * after "all-netns" if it may. It reads text, or after "binary=N" the same
 * records as fixed-size structs: then every read returns whole records
 * (the header alone first), in either mode. The formats are in
 * Documentation/tcptrace.rst.
 */

#include <linux/bitmap.h>
#include <linux/bsearch.h>
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>

#include "tcptrace.h"

/* Longer than any command, so that a write of garbage is one clear error. */
#define TCPTRACE_CMD_MAX	64

/* A first guess at the text per history, so that one pass usually fits. */
#define TCPTRACE_AVG_LINE	320

struct tcptrace_reader {
	struct mutex lock;	/* protects everything below */
	char *snap;		/* snapshot: its records, once taken */
	size_t snap_len;
	u64 net_cookie;		/* the opener's network namespace; its inode may be reused */
	bool all_netns;
	bool follow;
	bool binary;		/* binary records instead of text */
	bool started;		/* read or sought: the format is set */
	bool header_sent;	/* follow: the header went out */
	bool overrun;		/* follow: -EPIPE owed to the next read */
	u64 seq;		/* follow: the next done history to return */
	struct tcptrace_history history;
	union {				/* one record, text or binary */
		char line[TCPTRACE_LINE_MAX];
		struct tcptrace_binary_header bin_header;
		struct tcptrace_binary_record bin_record;
	};
};

/* The header, in the reader's format, into r->line; its length. */
static size_t tcptrace_reader_header(struct tcptrace_reader *r)
{
	if (r->binary) {
		tcptrace_format_binary_header(&r->bin_header);
		return sizeof(struct tcptrace_binary_header);
	}
	return tcptrace_format_header(r->line, sizeof(r->line));
}

/* The history in r->history, in the reader's format, into r->line; its length. */
static size_t tcptrace_reader_record(struct tcptrace_reader *r, bool done)
{
	if (r->binary) {
		tcptrace_format_binary_record(&r->bin_record, &r->history, done);
		return sizeof(struct tcptrace_binary_record);
	}
	return tcptrace_format_history(r->line, sizeof(r->line), &r->history, done);
}

static bool tcptrace_visible(const struct tcptrace_reader *r,
			     const struct tcptrace_history *h)
{
	return r->all_netns || h->net_cookie == r->net_cookie;
}

/* The record of r->history, if visible, at @used in @buf; the new length. */
static size_t tcptrace_snapshot_add(struct tcptrace_reader *r, char *buf,
				    size_t size, size_t used, bool done)
{
	size_t len;

	if (!tcptrace_visible(r, &r->history))
		return used;
	len = tcptrace_reader_record(r, done);
	if (used + len > size)
		return size;
	memcpy(buf + used, r->line, len);
	return used + len;
}

/*
 * One life of a socket: its cookie, and the time of its first step (a
 * socket may connect again after a failed connect, as a new life).
 */
struct tcptrace_life {
	u64 cookie;
	u64 t0;
};

static int tcptrace_life_cmp(const void *a, const void *b)
{
	const struct tcptrace_life *x = a, *y = b;

	if (x->cookie != y->cookie)
		return x->cookie < y->cookie ? -1 : 1;
	return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

static struct tcptrace_life tcptrace_life_of(const struct tcptrace_history *h)
{
	return (struct tcptrace_life){ .cookie = h->cookie, .t0 = h->ts[0] };
}

/*
 * Format every visible history into @buf: the done ones, then the live
 * ones. Returns the length, or @size when @buf is too small.
 *
 * The probes run on meanwhile. A history that completes after the ring
 * was read, and leaves its bucket before the walk comes by, would be in
 * neither part: the ring is read once more, up to its head after the
 * walk, for the histories the walk did not copy live (@lives, room for
 * @lives_max, keeps those it did). Such a history is in the ring by then:
 * it enters the ring before its bucket is unlocked (table.c). Only a live
 * history moving between buckets (a rekey) can be missed by the walk.
 */
static size_t tcptrace_format_snapshot(struct tcptrace_reader *r, char *buf, size_t size,
				       struct tcptrace_life *lives, size_t lives_max)
{
	unsigned int bucket = 0, index = 0;
	size_t used, nr_lives = 0;
	struct tcptrace_life life;
	u64 seq = 0, end;
	int ret;

	used = tcptrace_reader_header(r);
	memcpy(buf, r->line, min(used, size));

	end = tcptrace_ring_head();
	while (used < size && (ret = tcptrace_ring_copy(&seq, end, &r->history))) {
		/* -EPIPE: overwritten while we read; the gap shows in seq=. */
		if (ret > 0)
			used = tcptrace_snapshot_add(r, buf, size, used, true);
	}
	while (used < size && tcptrace_table_copy(&bucket, &index, &r->history)) {
		used = tcptrace_snapshot_add(r, buf, size, used, false);
		if (nr_lives < lives_max)
			lives[nr_lives++] = tcptrace_life_of(&r->history);
	}

	sort(lives, nr_lives, sizeof(*lives), tcptrace_life_cmp, NULL);
	end = tcptrace_ring_head();
	while (used < size && (ret = tcptrace_ring_copy(&seq, end, &r->history))) {
		if (ret <= 0)
			continue;
		life = tcptrace_life_of(&r->history);
		if (!bsearch(&life, lives, nr_lives, sizeof(*lives), tcptrace_life_cmp))
			used = tcptrace_snapshot_add(r, buf, size, used, true);
	}
	return used;
}

/*
 * Take the snapshot. Sized from the counters first; if histories came in
 * meanwhile and it does not fit, again twice as large. No line is longer
 * than TCPTRACE_LINE_MAX, so a buffer that size per history always fits
 * (the live ones, and the ring twice: read again after the walk); a
 * binary record has one size.
 */
static int tcptrace_snapshot_take(struct tcptrace_reader *r)
{
	size_t guess = TCPTRACE_AVG_LINE, most_each = TCPTRACE_LINE_MAX;
	struct tcptrace_stats s;
	size_t size, len, most;
	struct tcptrace_life *lives;
	char *buf;

	if (r->binary) {
		guess = sizeof(struct tcptrace_binary_record);
		most_each = guess;
	}
	tcptrace_stats(&s);
	lives = kvmalloc_array(s.live_max, sizeof(*lives), GFP_KERNEL_ACCOUNT);
	if (!lives)
		return -ENOMEM;
	most = (s.live_max + 2 * s.ring_size + 1) * most_each;
	size = min((s.live + s.done + 1) * guess, most);
	for (;;) {
		buf = kvmalloc(size, GFP_KERNEL_ACCOUNT);
		if (!buf)
			break;
		len = tcptrace_format_snapshot(r, buf, size, lives, s.live_max);
		if (len < size || size == most)
			break;
		kvfree(buf);
		size = min(size * 2, most);
	}
	kvfree(lives);
	if (!buf)
		return -ENOMEM;
	r->snap = buf;
	r->snap_len = len;
	return 0;
}

/*
 * Move a follower past the done histories of other namespaces, up to the
 * first it may see: true if there is one. An overrun meanwhile is owed to
 * its next read.
 */
static bool tcptrace_follow_skip(struct tcptrace_reader *r)
{
	int ret;

	if (r->all_netns)
		return tcptrace_ring_head() > r->seq;
	while ((ret = tcptrace_ring_copy(&r->seq, U64_MAX, &r->history)) > 0) {
		if (tcptrace_visible(r, &r->history)) {
			r->seq--;	/* for read() to return */
			return true;
		}
	}
	if (ret < 0)
		r->overrun = true;
	return false;
}

static bool tcptrace_follow_ready(struct tcptrace_reader *r)
{
	return tcptrace_ring_head() > r->seq ||
	       tcptrace_ring_tail() > r->seq;
}

static ssize_t tcptrace_follow_read(struct file *file, struct tcptrace_reader *r,
				    char __user *ubuf, size_t count)
{
	size_t copied = 0, len;
	int ret;

	if (!r->header_sent) {
		len = tcptrace_reader_header(r);
		if (len > count)
			return -EINVAL;
		if (copy_to_user(ubuf, r->line, len))
			return -EFAULT;
		r->header_sent = true;
		return len;
	}
	if (r->overrun) {
		r->overrun = false;
		return -EPIPE;
	}

	for (;;) {
		ret = tcptrace_ring_copy(&r->seq, U64_MAX, &r->history);
		if (ret < 0) {
			if (!copied)
				return -EPIPE;
			r->overrun = true;
			break;
		}
		if (!ret) {
			if (copied)
				break;
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(tcptrace_done_wait,
						       tcptrace_follow_ready(r));
			if (ret)
				return ret;
			continue;
		}
		if (!tcptrace_visible(r, &r->history))
			continue;
		len = tcptrace_reader_record(r, true);
		/* Whole records only; give this one back for the next read. */
		if (len > count - copied || copy_to_user(ubuf + copied, r->line, len)) {
			r->seq--;
			if (copied)
				break;
			return len > count ? -EINVAL : -EFAULT;
		}
		copied += len;
	}
	return copied;
}

/*
 * How much of a binary snapshot a read of @count bytes at @pos returns:
 * the header alone first, then as many whole records as fit; -EINVAL when
 * not even the next one does.
 */
static ssize_t tcptrace_binary_span(const struct tcptrace_reader *r, loff_t pos,
				    size_t count)
{
	const size_t hdr = sizeof(struct tcptrace_binary_header);
	const size_t rec = sizeof(struct tcptrace_binary_record);
	size_t left;

	if (pos >= r->snap_len)
		return 0;
	if (!pos)
		return count < hdr ? -EINVAL : hdr;
	left = r->snap_len - pos;
	if (count < rec)
		return -EINVAL;
	return min(count / rec * rec, left);
}

/* A binary snapshot's positions are record boundaries, so no record is torn. */
static bool tcptrace_binary_boundary(const struct tcptrace_reader *r, loff_t pos)
{
	const size_t hdr = sizeof(struct tcptrace_binary_header);

	return !pos || (pos >= hdr && pos <= r->snap_len &&
			!((pos - hdr) % sizeof(struct tcptrace_binary_record)));
}

static ssize_t tcptrace_dev_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct tcptrace_reader *r = file->private_data;
	ssize_t ret = 0;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	r->started = true;
	if (r->follow)
		ret = tcptrace_follow_read(file, r, ubuf, count);
	else if (!r->snap)
		ret = tcptrace_snapshot_take(r);
	if (!r->follow && !ret && r->binary) {
		ret = tcptrace_binary_span(r, *ppos, count);
		if (ret > 0)
			count = ret;
	}
	if (!r->follow && ret >= 0)
		ret = simple_read_from_buffer(ubuf, count, ppos, r->snap, r->snap_len);
	mutex_unlock(&r->lock);
	return ret;
}

static __poll_t tcptrace_dev_poll(struct file *file, poll_table *wait)
{
	struct tcptrace_reader *r = file->private_data;
	__poll_t mask = 0;
	bool ready;

	if (!READ_ONCE(r->follow))
		return EPOLLIN | EPOLLRDNORM;

	poll_wait(file, &tcptrace_done_wait, wait);
	/*
	 * Step over the histories this reader may not see, as read() does,
	 * so that POLLIN means a read would return one: what the step found,
	 * not the ring's end after it, which an invisible history may have
	 * moved meanwhile. When the lock is taken, a read() of this file is
	 * under way and does it itself: say what the ring holds.
	 */
	if (mutex_trylock(&r->lock)) {
		ready = tcptrace_follow_skip(r);
		mutex_unlock(&r->lock);
	} else {
		ready = tcptrace_ring_head() > r->seq;
	}
	if (!r->header_sent || ready)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (r->overrun || tcptrace_ring_tail() > r->seq)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLERR | EPOLLPRI;
	return mask;
}

/* As fixed_size_llseek(), to record boundaries only. */
static loff_t tcptrace_binary_llseek(struct file *file, struct tcptrace_reader *r,
				     loff_t offset, int whence)
{
	loff_t pos;

	switch (whence) {
	case SEEK_SET:
		pos = offset;
		break;
	case SEEK_CUR:
		pos = file->f_pos + offset;
		break;
	case SEEK_END:
		pos = r->snap_len + offset;
		break;
	default:
		return -EINVAL;
	}
	if (!tcptrace_binary_boundary(r, pos))
		return -EINVAL;
	return vfs_setpos(file, pos, r->snap_len);
}

/*
 * A snapshot seeks like a file of its size, a binary one to record
 * boundaries only. Following, SEEK_SET 0 goes to the oldest history held
 * and SEEK_END 0 past the newest.
 */
static loff_t tcptrace_dev_llseek(struct file *file, loff_t offset, int whence)
{
	struct tcptrace_reader *r = file->private_data;
	loff_t ret = 0;

	/* A follower blocked in read() holds the lock: wait as it does. */
	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	r->started = true;
	if (!r->follow) {
		if (!r->snap)
			ret = tcptrace_snapshot_take(r);
		if (!ret && r->binary)
			ret = tcptrace_binary_llseek(file, r, offset, whence);
		else if (!ret)
			ret = fixed_size_llseek(file, offset, whence, r->snap_len);
		mutex_unlock(&r->lock);
		return ret;
	}
	if (offset) {
		mutex_unlock(&r->lock);
		return -EINVAL;
	}
	switch (whence) {
	case SEEK_SET:
		r->seq = tcptrace_ring_tail();
		r->overrun = false;
		break;
	case SEEK_END:
		r->seq = tcptrace_ring_head();
		r->overrun = false;
		break;
	default:
		ret = -EINVAL;
	}
	mutex_unlock(&r->lock);
	return ret;
}

/* Commands that change what every reader sees are the initial namespace's. */
static bool tcptrace_may_admin(struct file *file, const struct tcptrace_reader *r)
{
	return r->net_cookie == tcptrace_net_cookie(&init_net) &&
	       file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN);
}

/* A decimal value: kstrtou16() and kstrtou32() alone also take a leading '+'. */
static bool tcptrace_decimal(const char *s)
{
	return isdigit(*s);
}

/* "80,443,8000-8099": ports 1 to 65535, single or as ranges. */
static int tcptrace_parse_ports(char *list, unsigned long *ports)
{
	char *item;

	while ((item = strsep(&list, ","))) {
		char *last = strchr(item, '-');
		u16 lo, hi;

		if (last)
			*last++ = '\0';
		if (!tcptrace_decimal(item) || kstrtou16(item, 10, &lo) || !lo)
			return -EINVAL;
		hi = lo;
		if (last && (!tcptrace_decimal(last) || kstrtou16(last, 10, &hi) || hi < lo))
			return -EINVAL;
		bitmap_set(ports, lo, hi - lo + 1);
	}
	return 0;
}

static int tcptrace_command_ports(char *list)
{
	unsigned long *ports;
	int err;

	if (!*list) {
		tcptrace_filter_ports(NULL);
		return 0;
	}
	ports = bitmap_zalloc(1 << 16, GFP_KERNEL);
	if (!ports)
		return -ENOMEM;
	err = tcptrace_parse_ports(list, ports);
	if (!err)
		tcptrace_filter_ports(ports);
	bitmap_free(ports);
	return err;
}

/*
 * "binary=N": layout version N or later, which this module writes if it
 * knows N. Only before the first read or seek: a reader never gets a
 * stream in two formats.
 */
static int tcptrace_command_binary(struct tcptrace_reader *r, const char *value)
{
	u32 version;

	if (!tcptrace_decimal(value) || kstrtou32(value, 10, &version) || !version)
		return -EINVAL;
	if (version > TCPTRACE_BINARY_VERSION)
		return -EPROTONOSUPPORT;
	if (r->started)
		return -EBUSY;
	r->binary = true;
	return 0;
}

static int tcptrace_reader_command(struct file *file, struct tcptrace_reader *r,
				   char *cmd)
{
	const char *value;
	u32 netns;

	if (!strcmp(cmd, TCPTRACE_CMD_CLEAR)) {
		if (!tcptrace_may_admin(file, r))
			return -EPERM;
		tcptrace_ring_clear();
		return 0;
	}
	if (str_has_prefix(cmd, TCPTRACE_CMD_PORTS)) {
		if (!tcptrace_may_admin(file, r))
			return -EPERM;
		return tcptrace_command_ports(cmd + strlen(TCPTRACE_CMD_PORTS));
	}
	if (str_has_prefix(cmd, TCPTRACE_CMD_NETNS)) {
		if (!tcptrace_may_admin(file, r))
			return -EPERM;
		value = cmd + strlen(TCPTRACE_CMD_NETNS);
		if (!tcptrace_decimal(value) || kstrtou32(value, 10, &netns))
			return -EINVAL;
		tcptrace_filter_netns(netns);
		return 0;
	}
	if (!strcmp(cmd, TCPTRACE_CMD_FOLLOW)) {
		if (!r->follow)
			r->seq = tcptrace_ring_tail();
		WRITE_ONCE(r->follow, true);
		return 0;
	}
	if (str_has_prefix(cmd, TCPTRACE_CMD_BINARY))
		return tcptrace_command_binary(r, cmd + strlen(TCPTRACE_CMD_BINARY));
	if (!strcmp(cmd, TCPTRACE_CMD_ALL_NETNS)) {
		/* Only the initial namespace's administrator sees the others. */
		if (!tcptrace_may_admin(file, r))
			return -EPERM;
		r->all_netns = true;
		return 0;
	}
	return -EINVAL;
}

static ssize_t tcptrace_dev_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct tcptrace_reader *r = file->private_data;
	char cmd[TCPTRACE_CMD_MAX];
	size_t len = count, i;
	int ret;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (len && cmd[len - 1] == '\n')
		cmd[--len] = '\0';
	/*
	 * One command, in printable characters: a NUL would end it early
	 * ("clear\0junk"), and kstrto*() would take a newline after a value
	 * ("ports=80\n\n").
	 */
	for (i = 0; i < len; i++)
		if ((unsigned char)cmd[i] <= ' ' || (unsigned char)cmd[i] > '~')
			return -EINVAL;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	ret = tcptrace_reader_command(file, r, cmd);
	mutex_unlock(&r->lock);
	return ret ? ret : count;
}

static int tcptrace_dev_open(struct inode *inode, struct file *file)
{
	struct net *net = current->nsproxy->net_ns;
	struct tcptrace_reader *r;

	/* Whoever administers a network namespace may read its sockets' lives. */
	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;

	/* Charged to the opener, as its snapshot is: it may open many. */
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	mutex_init(&r->lock);
	r->net_cookie = tcptrace_net_cookie(net);
	/* Replaces the miscdevice misc_open() left here. */
	file->private_data = r;
	return 0;
}

static int tcptrace_dev_release(struct inode *inode, struct file *file)
{
	struct tcptrace_reader *r = file->private_data;

	kvfree(r->snap);
	kfree(r);
	return 0;
}

static const struct file_operations tcptrace_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= tcptrace_dev_open,
	.read		= tcptrace_dev_read,
	.poll		= tcptrace_dev_poll,
	.llseek		= tcptrace_dev_llseek,
	.write		= tcptrace_dev_write,
	.release	= tcptrace_dev_release,
};

static struct miscdevice tcptrace_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "tcptrace",
	.fops	= &tcptrace_dev_fops,
	.mode	= 0600,
};

int tcptrace_dev_init(void)
{
	return misc_register(&tcptrace_miscdev);
}

void tcptrace_dev_exit(void)
{
	misc_deregister(&tcptrace_miscdev);
}
