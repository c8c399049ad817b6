// SPDX-License-Identifier: GPL-2.0
/*
 * measure: run a command with its output thrown away, and say how fast it
 * went through a capture and how much memory it took at most.
 *
 * Usage: measure LABEL HISTORIES COMMAND [ARG]...
 * Prints the label, the histories, the wall-clock and CPU (user + system)
 * seconds, the histories per CPU second, which a busy host does not skew
 * as much, and the peak RSS; exits with the command's status.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
	double start, seconds, cpu, histories;
	struct rusage usage;
	int status, null;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: measure LABEL HISTORIES COMMAND [ARG]...\n");
		return 2;
	}
	histories = strtod(argv[2], NULL);
	start = now();
	pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 1;
	}
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &usage) < 0) {
		perror("measure: wait4");
		return 1;
	}
	seconds = now() - start;
	cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
	      usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
	printf("%-9s %8.0f histories  %7.2f s wall %7.2f s CPU %9.0f histories/s  peak RSS %6ld KiB\n",
	       argv[1], histories, seconds, cpu, cpu > 0 ? histories / cpu : 0,
	       usage.ru_maxrss);
	if (!WIFEXITED(status)) {
		fprintf(stderr, "measure: %s: killed by signal %d\n", argv[3], WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}
