/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where histories come from: the origin of a capture (host name and boot
 * id), so that captures of many machines can be read together and a
 * connection is only ever paired within one machine's boot.
 *
 * The module knows neither; the reader does. It writes them into the
 * captures it writes ("# origin host=NAME boot_id=UUID", right after the
 * header: TCPTRACE_ORIGIN_TAG) and gives the live device its own.
 */
#ifndef TCPTRACE_ORIGIN_H
#define TCPTRACE_ORIGIN_H

#include <stdbool.h>
#include <stdio.h>

#include "parse.h"

/* Where the kernel keeps this boot's id. */
#define TT_BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"

/*
 * This machine's origin: uname(2)'s nodename, and the boot id if it can
 * be read (else boot_id ""). False if there is no host name.
 */
bool tt_origin_local(struct tt_origin *o);

/* The origin line, newline included. */
void tt_origin_write(FILE *out, const struct tt_origin *o);

/* Same host and same boot id (both without one counts as the same). */
bool tt_origin_same(const struct tt_origin *a, const struct tt_origin *b);

#endif /* TCPTRACE_ORIGIN_H */
