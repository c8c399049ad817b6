/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcptrace_main.h: the main() of the kselftest_harness.h programs: the
 * tests TCPTRACE_TESTS names, then the harness's own main().
 *
 * Include it last, after every TEST(): TEST_HARNESS_MAIN must follow the
 * tests (in older harnesses its constructor tells the order in which
 * the tests' constructors ran). The harness's main() is renamed
 * tcptrace_harness_main() so that ours can call it.
 */
#ifndef TCPTRACE_MAIN_H
#define TCPTRACE_MAIN_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * TCPTRACE_TESTS=a,b runs only the tests whose "fixture.name" contains
 * one of those strings (the harness of older kernels has no -t).
 */
static inline bool test_wanted(const char *fixture, const char *test)
{
	const char *want = getenv("TCPTRACE_TESTS");
	char name[256], *list, *tok, *save = NULL;
	bool found = false;

	if (!want || !*want)
		return true;
	snprintf(name, sizeof(name), "%s.%s", fixture, test);
	list = strdup(want);
	for (tok = strtok_r(list, ",", &save); tok && !found; tok = strtok_r(NULL, ",", &save))
		found = strstr(name, tok) != NULL;
	free(list);
	return found;
}

static inline void tests_filter(void)
{
	struct __fixture_metadata *f;

	for (f = __fixture_list; f; f = f->next) {
		struct __test_metadata *t, *next, *head = NULL, *tail = NULL;

		for (t = f->tests; t; t = next) {
			next = t->next;
			if (!test_wanted(f->name, t->name))
				continue;
			t->next = NULL;
			if (tail)
				tail->next = t;
			else
				head = t;
			tail = t;
			head->prev = tail;
		}
		f->tests = head;
	}
}

#define main tcptrace_harness_main
TEST_HARNESS_MAIN
#undef main

int main(int argc, char **argv)
{
	tests_filter();
	return tcptrace_harness_main(argc, argv);
}

#endif /* TCPTRACE_MAIN_H */
