// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "origin.h"

/* The boot id into @o->boot_id, if it reads as a UUID. */
static void read_boot_id(struct tt_origin *o)
{
	char buf[64];
	ssize_t n;
	size_t i;
	int fd = open(TT_BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);

	o->boot_id[0] = '\0';
	if (fd < 0)
		return;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n <= 0 || !tt_boot_id_valid(buf, (size_t)n))
		return;
	for (i = 0; i < (size_t)n; i++)
		o->boot_id[i] = buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i];
	o->boot_id[n] = '\0';
}

bool tt_origin_local(struct tt_origin *o)
{
	struct utsname u;
	size_t len;

	memset(o, 0, sizeof(*o));
	if (uname(&u) < 0)
		return false;
	len = strnlen(u.nodename, sizeof(u.nodename));
	if (len == 0)
		return false;
	if (len > TT_HOST_MAX)
		len = TT_HOST_MAX;
	tt_comm_encode(u.nodename, len, o->host);
	read_boot_id(o);
	return true;
}

void tt_origin_write(FILE *out, const struct tt_origin *o)
{
	fprintf(out, TCPTRACE_ORIGIN_TAG " host=%s", o->host);
	if (o->boot_id[0])
		fprintf(out, " boot_id=%s", o->boot_id);
	fputc('\n', out);
}

bool tt_origin_same(const struct tt_origin *a, const struct tt_origin *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->boot_id, b->boot_id) == 0;
}
