/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit test programs share: a test prints "# " lines saying what
 * failed, and its runner one "ok NAME" or "not ok NAME" line, which
 * tests/run.sh numbers into the KTAP output of "make test".
 */
#ifndef TCPTRACE_TESTS_CHECK_H
#define TCPTRACE_TESTS_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct test {
	bool failed;
};

static inline void fail_at(struct test *t, int line, const char *what)
{
	printf("# line %d: %s\n", line, what);
	t->failed = true;
}

#define CHECK(t, cond) do {						\
	if (!(cond))							\
		fail_at(t, __LINE__, "failed: " #cond);			\
} while (0)

#define CHECK_STR(t, got, want) do {					\
	const char *got_ = (got), *want_ = (want);			\
	if (strcmp(got_, want_) != 0) {					\
		printf("# line %d: %s is '%s', expected '%s'\n",	\
		       __LINE__, #got, got_, want_);			\
		(t)->failed = true;					\
	}								\
} while (0)

#define CHECK_U64(t, got, want) do {					\
	uint64_t got_ = (got), want_ = (want);				\
	if (got_ != want_) {						\
		printf("# line %d: %s is %" PRIu64 ", expected %" PRIu64 "\n", \
		       __LINE__, #got, got_, want_);			\
		(t)->failed = true;					\
	}								\
} while (0)

static inline bool report(const char *prefix, const char *name,
			  const struct test *t)
{
	printf("%s %s%s\n", t->failed ? "not ok" : "ok", prefix, name);
	return !t->failed;
}

/* A unit test: its name in the KTAP output, and the function that runs it. */
struct test_case {
	const char *name;
	void (*run)(struct test *t);
};

/* Run @n tests and print each one's line: true if every one passed. */
static inline bool run_tests(const struct test_case *tests, size_t n)
{
	bool all_passed = true;
	size_t i;

	for (i = 0; i < n; i++) {
		struct test t = { false };

		tests[i].run(&t);
		all_passed &= report("", tests[i].name, &t);
	}
	return all_passed;
}

#endif /* TCPTRACE_TESTS_CHECK_H */
