/*
 * rss_exec.c -- run a command and write its peak RSS (KiB) to a file.
 *
 *   rss_exec OUTFILE TIMEOUT_S cmd args...
 *
 * Linux counts, in a child's ru_maxrss, the memory of the process it was
 * forked from until exec: a command started straight from bench/run.py
 * (a python process holding hundreds of MiB of arrays) would report that
 * python's size.  This small launcher forks the command from itself, so
 * the command's ru_maxrss is its own.  After TIMEOUT_S seconds the command
 * is killed (exit status 124).  Exit status: the command's (128+signal when
 * it was killed by one).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig) {
    (void)sig;
    timed_out = 1;
    if (child > 0) kill(child, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: rss_exec OUTFILE TIMEOUT_S cmd args...\n");
        return 2;
    }
    child = fork();
    if (child < 0) return 2;
    if (child == 0) {
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)atoi(argv[2]));
    int status = 0;
    struct rusage ru;
    while (wait4(child, &status, 0, &ru) < 0) {}
    FILE *f = fopen(argv[1], "w");
    if (f) {
        fprintf(f, "%ld\n", ru.ru_maxrss);
        fclose(f);
    }
    if (timed_out) return 124;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
