/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One fuzzing input through everything that reads lines: the parser, the
 * filters and every view. Shared by the deterministic fuzzer of "make
 * test" (tests/fuzz.c) and the libFuzzer target (tests/fuzz_libfuzzer.c).
 */
#ifndef TCPTRACE_TESTS_FUZZ_TARGET_H
#define TCPTRACE_TESTS_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Views print to @sink (/dev/null, say). Returns the records parsed. */
size_t tt_fuzz_one(const uint8_t *data, size_t size, FILE *sink);

#endif /* TCPTRACE_TESTS_FUZZ_TARGET_H */
