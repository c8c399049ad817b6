/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace record: run a command and capture the histories of the sockets
 * that lived while it ran (record.c says how).
 */
#ifndef TCPTRACE_RECORD_H
#define TCPTRACE_RECORD_H

/* Exit statuses of tcptrace record besides the command's own (as env(1)). */
enum tt_record_status {
	TT_RECORD_FAILED = 125,		/* tcptrace itself failed, or bad usage */
	TT_RECORD_NOEXEC = 126,		/* COMMAND found but could not be run */
	TT_RECORD_NOTFOUND = 127,	/* COMMAND not found */
};

/*
 * "tcptrace record [OPTION]... [--] [COMMAND [ARG]...]": @argv[0] is
 * "record". Returns the exit status.
 */
int tt_record_main(int argc, char *argv[]);

#endif /* TCPTRACE_RECORD_H */
