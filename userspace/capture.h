/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace -w FILE: a binary capture, as tcpdump -w writes one. The
 * origin line (text, as "tcptrace record" writes it), then the device's
 * binary stream as read: its header, and each record the selection keeps,
 * byte for byte (a newer module's longer records too). "tcptrace -r FILE"
 * reads it; so does any reader of the UAPI's structs, past the line.
 */
#ifndef TCPTRACE_CAPTURE_H
#define TCPTRACE_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "filter.h"
#include "input.h"

/*
 * Copy @in, the device read in binary (a snapshot, or following), to
 * @out, named @name in messages, up to its end or until *@stop. Records
 * are kept if @filter selects them; with no selection, also those this
 * reader cannot decode (reported all the same). Histories lost while
 * following are said on stderr. @out is flushed whenever nothing more is
 * buffered, so that a follower's capture is complete up to what came.
 * False if something went wrong (said on stderr).
 */
bool tt_capture_write(struct tt_input *in, FILE *out, const char *name,
		      const struct tt_filter *filter,
		      const volatile sig_atomic_t *stop);

#endif /* TCPTRACE_CAPTURE_H */
