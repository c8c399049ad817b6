// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "input.h"

int tt_input_open(struct tt_input *in, const char *path)
{
	memset(in, 0, sizeof(*in));
	if (strcmp(path, "-") == 0) {
		in->file = stdin;
		in->name = "<stdin>";
		return 0;
	}
	in->file = fopen(path, "r");
	if (!in->file)
		return -1;
	in->name = path;
	return 0;
}

int tt_input_next(struct tt_input *in)
{
	size_t len = 0;
	int c;

	while ((c = getc(in->file)) != EOF) {
		if (len < sizeof(in->line))
			in->line[len++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(in->file)) {
		/* getc() leaves errno set by the failed read(). */
		return -1;
	}
	if (c == EOF && len == 0)
		return 0;
	in->len = len;
	in->lineno++;
	return 1;
}

void tt_input_close(struct tt_input *in)
{
	if (in->file && in->file != stdin)
		fclose(in->file);
	in->file = NULL;
}
