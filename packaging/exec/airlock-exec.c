/*
 * airlock-exec: the stdin relay of commands in Kubernetes agent pods (docs/kubernetes.md, "The end
 * of stdin").
 *
 *   airlock-exec [NAME=VALUE]... -- COMMAND [ARG]...
 *
 * The daemon runs piped commands through the API server's pods/exec, whose WebSocket protocol
 * (v4.channel.k8s.io) cannot say "end of input". So the daemon frames the input instead, and this
 * program, exec'd in the agent container, turns the frames back into a stream that ends:
 *
 *   frame     = length (4 bytes, big-endian) + that many bytes of input
 *   length 0  = the end of input: COMMAND's stdin is closed, so it reads end-of-file
 *
 * COMMAND runs with NAME=VALUE in its environment (as env(1) would) and a pipe as stdin; its stdout
 * and stderr are this program's own. SIGTERM, SIGINT, SIGHUP and SIGQUIT are forwarded to it. The
 * exit status is COMMAND's, 128+N when signal N killed it, 127 when it is not found and 126 when
 * it cannot be run (with a message as the local sandbox prints), 125 for a usage error.
 *
 * A malformed frame (a length over MAX_FRAME, or the input ending inside a frame) closes COMMAND's
 * stdin and says so on stderr: input fails closed and nothing waits for bytes that cannot come.
 * A stdin that simply ends without an end frame ends COMMAND's input too.
 *
 * Three processes: this one waits for COMMAND and forwards signals; a feeder child reads the frames
 * and writes the pipe, so waiting never races with reading (no poll, no self-pipe). When COMMAND
 * has ended the feeder is killed, whatever it was waiting for.
 *
 * Static (gcc -static -Os): the agent image may have no libc of a matching version, or none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE_ERROR 125
#define NOT_RUNNABLE 126
#define NOT_FOUND 127
/* Larger than any frame the daemon writes (PodCommand: 64 KiB); a bigger length is garbage. */
#define MAX_FRAME (1u << 20)

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
#define NFORWARDED ((int) (sizeof FORWARDED / sizeof FORWARDED[0]))

static volatile pid_t command_pid;

static void say(const char *a, const char *b, const char *c) {
    const char *parts[] = {"airlock-exec: ", a, b, c, "\n"};
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(parts[i]);
        while (n > 0) {
            ssize_t w = write(2, parts[i], n);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                return;
            }
            parts[i] += w;
            n -= (size_t) w;
        }
    }
}

static void forward(int sig) {
    pid_t p = command_pid;
    if (p > 0) {
        kill(p, sig);
    }
}

/* Reads exactly n bytes; 0 at a clean end before the first byte, -1 at an end or error inside. */
static int read_fully(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(0, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return got == 0 ? 0 : -1;
        }
        got += (size_t) r;
    }
    return 1;
}

/* Writes all of buf to fd; 0 once the reader went away (EPIPE) or fd is -1: the rest is dropped, as a pipe would. */
static int write_fully(int fd, const unsigned char *buf, size_t n) {
    while (n > 0 && fd >= 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return 0;
        }
        buf += w;
        n -= (size_t) w;
    }
    return fd >= 0;
}

/* The feeder: frames from fd 0 into the pipe's write end, closed at the end frame or on garbage. */
static void feed(int pipe_w) {
    static unsigned char buf[65536];
    unsigned char head[4];
    int out = pipe_w;
    for (;;) {
        int h = read_fully(head, 4);
        if (h == 0) {
            break; /* the input ended between frames: as an end frame */
        }
        if (h < 0) {
            if (out >= 0) {
                say("the input ended inside a frame's length; the command's stdin is closed", "", "");
            }
            break;
        }
        uint32_t len = (uint32_t) head[0] << 24 | (uint32_t) head[1] << 16 | (uint32_t) head[2] << 8 | head[3];
        if (len == 0) {
            if (out >= 0) {
                close(out);
                out = -1;
            }
            continue; /* drain whatever follows, so the sender never blocks */
        }
        if (len > MAX_FRAME) {
            if (out >= 0) {
                char n[16];
                snprintf(n, sizeof n, "%u", len);
                say("a malformed input frame (length ", n, " is over 1048576); the command's stdin is closed and the rest of the input dropped");
                close(out);
                out = -1;
            }
            /* resynchronising is impossible: discard everything that follows */
            for (;;) {
                ssize_t r = read(0, buf, sizeof buf);
                if (r == 0 || (r < 0 && errno != EINTR)) {
                    break;
                }
            }
            break;
        }
        while (len > 0) {
            size_t chunk = len < sizeof buf ? len : sizeof buf;
            if (read_fully(buf, chunk) != 1) {
                if (out >= 0) {
                    say("the input ended inside a frame; the command's stdin is closed", "", "");
                }
                goto done;
            }
            if (!write_fully(out, buf, chunk) && out >= 0) {
                close(out); /* the command closed its stdin: drop the rest */
                out = -1;
            }
            len -= (uint32_t) chunk;
        }
    }
done:
    if (out >= 0) {
        close(out);
    }
    _exit(0);
}

static void run(char **argv, sigset_t *saved, int pipe_r, int pipe_w) {
    for (int i = 0; i < NFORWARDED; i++) {
        signal(FORWARDED[i], SIG_DFL);
    }
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, saved, NULL);
    if (dup2(pipe_r, 0) < 0) {
        say("cannot give the command its stdin: ", strerror(errno), "");
        _exit(USAGE_ERROR);
    }
    close(pipe_r);
    close(pipe_w);
    execvp(argv[0], argv);
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) {
        const char *path = getenv("PATH");
        fprintf(stderr, "airlock: %s: command not found in the pod (PATH %s)\n", argv[0], path ? path : "unset");
        _exit(NOT_FOUND);
    }
    fprintf(stderr, "airlock: %s: not executable (%s)\n", argv[0], strerror(e));
    _exit(NOT_RUNNABLE);
}

int main(int argc, char **argv) {
    int dashes = 1;
    while (dashes < argc && strcmp(argv[dashes], "--") != 0) {
        if (strchr(argv[dashes], '=') == NULL || argv[dashes][0] == '=') {
            say("usage: airlock-exec [NAME=VALUE]... -- COMMAND [ARG]... (not a NAME=VALUE: ", argv[dashes], ")");
            return USAGE_ERROR;
        }
        dashes++;
    }
    if (dashes + 1 >= argc) {
        say("usage: airlock-exec [NAME=VALUE]... -- COMMAND [ARG]... (no command)", "", "");
        return USAGE_ERROR;
    }
    for (int i = 1; i < dashes; i++) {
        if (putenv(argv[i]) != 0) {
            say("cannot set ", argv[i], "");
            return USAGE_ERROR;
        }
    }
    int p[2];
    if (pipe(p) != 0) {
        say("cannot make the command's stdin pipe: ", strerror(errno), "");
        return USAGE_ERROR;
    }
    /* Signals wait until the command's pid is known (blocked across fork), then go to it. */
    sigset_t block, saved;
    sigemptyset(&block);
    for (int i = 0; i < NFORWARDED; i++) {
        sigaddset(&block, FORWARDED[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &saved);
    pid_t cmd = fork();
    if (cmd < 0) {
        say("cannot start the command: ", strerror(errno), "");
        return USAGE_ERROR;
    }
    if (cmd == 0) {
        run(argv + dashes + 1, &saved, p[0], p[1]);
    }
    command_pid = cmd;
    pid_t feeder = fork();
    if (feeder == 0) {
        for (int i = 0; i < NFORWARDED; i++) {
            signal(FORWARDED[i], SIG_IGN); /* the command decides; its end ends this one */
        }
        signal(SIGPIPE, SIG_IGN);
        sigprocmask(SIG_SETMASK, &saved, NULL);
        close(p[0]);
        close(1); /* only the command holds stdout: its end is the output's end */
        feed(p[1]);
    }
    close(p[0]);
    close(p[1]);
    if (feeder < 0) {
        say("cannot start the input feeder: ", strerror(errno), "; the command's stdin is closed");
    }
    close(0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NFORWARDED; i++) {
        sigaction(FORWARDED[i], &sa, NULL);
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    int status;
    while (waitpid(cmd, &status, 0) < 0) {
        if (errno != EINTR) {
            say("lost the command: ", strerror(errno), "");
            return USAGE_ERROR;
        }
    }
    command_pid = 0;
    if (feeder > 0) {
        kill(feeder, SIGKILL);
        while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
