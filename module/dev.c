// SPDX-License-Identifier: GPL-2.0
/*
 * tcptrace: /dev/tcptrace, the text interface.
 *
 * Each open file gets a seq_file. Its first read formats a snapshot of all
 * histories into the seq_file's buffer; later reads, lseek() and short reads
 * are served from that buffer, so a reader never sees half a record or a
 * mix of two snapshots. The format is specified in
 * Documentation/tcptrace.rst.
 */

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "tcptrace.h"

/* Longer than any command, so that a write of garbage is one clear error. */
#define TCPTRACE_CMD_MAX	64

/* A first guess at the text per history, so that one pass usually fits. */
#define TCPTRACE_AVG_LINE	256

static const char * const tcptrace_state_names[] = TCPTRACE_STATE_NAMES;

static const char *tcptrace_state_name(unsigned int state)
{
	if (state >= ARRAY_SIZE(tcptrace_state_names))
		state = 0;
	return tcptrace_state_names[state];
}

static void tcptrace_show_addr(struct seq_file *m, u8 family,
			       const union tcptrace_addr *addr, __be16 port)
{
	if (family == AF_INET6)
		seq_printf(m, " [%pI6c]:%u", &addr->v6, ntohs(port));
	else
		seq_printf(m, " %pI4:%u", &addr->v4, ntohs(port));
}

static void tcptrace_show_path(struct seq_file *m, const struct tcptrace_hist *h)
{
	unsigned int i, prev;

	seq_printf(m, " path=%s", tcptrace_state_name(h->steps[0].oldstate));
	prev = h->steps[0].oldstate;
	for (i = 0; i < h->nsteps; i++) {
		const struct tcptrace_step *step = &h->steps[i];

		if (step->oldstate != prev)
			seq_printf(m, "/%s", tcptrace_state_name(step->oldstate));
		seq_printf(m, ">%s@%llu", tcptrace_state_name(step->newstate),
			   h->ts[i] - h->ts[0]);
		if (step->flags & TCPTRACE_STEPF_SOFTIRQ)
			seq_putc(m, TCPTRACE_STEP_SOFTIRQ);
		prev = step->newstate;
	}
}

static void tcptrace_show_hist(struct seq_file *m, const struct tcptrace_hist *h,
			       bool done)
{
	seq_printf(m, "%s %llu %s", done ? TCPTRACE_KIND_DONE : TCPTRACE_KIND_LIVE,
		   h->cookie, h->family == AF_INET6 ? "ipv6" : "ipv4");
	tcptrace_show_addr(m, h->family, &h->saddr, h->sport);
	tcptrace_show_addr(m, h->family, &h->daddr, h->dport);
	if (done)
		seq_printf(m, " seq=%llu", h->seq);
	seq_printf(m, " t0=%llu", h->ts[0]);
	if (h->dropped)
		seq_printf(m, " dropped=%u", h->dropped);
	tcptrace_show_path(m, h);
	seq_putc(m, '\n');
}

static void tcptrace_show_header(struct seq_file *m)
{
	struct tcptrace_stats s;

	tcptrace_hist_stats(&s);
	seq_printf(m, TCPTRACE_HEADER_TAG " format=%d now=%llu live=%llu live_max=%llu done=%llu ring_size=%llu",
		   TCPTRACE_FORMAT_VERSION, ktime_get_ns(), s.live, s.live_max,
		   s.done, s.ring_size);
	seq_printf(m, " events=%llu created=%llu completed=%llu drop_table_full=%llu drop_steps_full=%llu ring_overwritten=%llu mem_bytes=%llu\n",
		   s.events, s.created, s.completed, s.drop_table_full,
		   s.drop_steps_full, s.ring_overwritten, s.mem_bytes);
}

/*
 * The whole snapshot in one call. If it outgrows the buffer, seq_file
 * doubles the buffer and calls again, and a fresh snapshot is taken.
 */
static int tcptrace_dev_show(struct seq_file *m, void *v)
{
	unsigned int bucket = 0, index = 0;
	struct tcptrace_hist h;
	u64 seq = 0, end;

	tcptrace_show_header(m);

	end = tcptrace_hist_done_end();
	while (tcptrace_hist_copy_done(&seq, end, &h)) {
		tcptrace_show_hist(m, &h, true);
		if (seq_has_overflowed(m))
			return 0;
	}
	while (tcptrace_hist_copy_live(&bucket, &index, &h)) {
		tcptrace_show_hist(m, &h, false);
		if (seq_has_overflowed(m))
			return 0;
	}
	return 0;
}

static int tcptrace_dev_open(struct inode *inode, struct file *file)
{
	struct tcptrace_stats s;

	tcptrace_hist_stats(&s);
	/* misc_open() left the miscdevice here; seq_open() wants it empty. */
	file->private_data = NULL;
	return single_open_size(file, tcptrace_dev_show, NULL,
				(s.live + s.done + 1) * TCPTRACE_AVG_LINE);
}

static ssize_t tcptrace_dev_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	char cmd[TCPTRACE_CMD_MAX];
	size_t len = count;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (len && cmd[len - 1] == '\n')
		cmd[--len] = '\0';

	if (!strcmp(cmd, TCPTRACE_CMD_CLEAR)) {
		tcptrace_hist_clear();
		return count;
	}
	return -EINVAL;
}

static const struct file_operations tcptrace_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= tcptrace_dev_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.write		= tcptrace_dev_write,
	.release	= single_release,
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
