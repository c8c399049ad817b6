// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer entry point: "make fuzz" builds it with clang and runs it on the
 * captures of tests/data for FUZZ_SECONDS.
 */
#include <stdio.h>

#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (sink)
		tt_fuzz_one(data, size, sink);
	return 0;
}
