/*
 * airlock-client: `airlock run` through the daemon's warm pool, and the session commands, without
 * starting a JVM (issue 13 §2).
 *
 *   airlock-client LAUNCHER run [--policy FILE] [--workspace DIR] -- COMMAND...
 *   airlock-client LAUNCHER sandbox exec [-i] [-t] [-e K=V]... SESSION [--] COMMAND...
 *   airlock-client LAUNCHER sandbox attach SESSION
 *
 * Speaks the Java client's protocol (server/DaemonClient, server/TerminalFrames, cli/PooledRun):
 * POST /v1/run on the daemon's unix socket, chunked NDJSON up (the request line, then stdin as raw
 * bytes, or as {"stdin": BASE64} and {"resize": [R, C]} frames on a terminal), NDJSON down (the
 * start record, {"stream", "data": BASE64} output, {"exit", "summary"}).
 *
 * `airlock sandbox exec` and `attach` go the same way to POST /v1/sandboxes/ID/exec, the session
 * found as server/SessionRefs finds it (GET /v1/sandboxes), as cli/SessionExec runs them.
 *
 * A policy the daemon does not pool runs in the daemon too, with a cold run's semantics: the request
 * carries this directory (or --workspace DIR, with "cold": true: never the pool's) as the workspace,
 * and SUDO_UID/SUDO_GID as "sudoUid"/"sudoGid" (who that run runs as; none: nobody).
 *
 * Everything it does not do itself goes, unchanged and before anything was read or printed, to
 * LAUNCHER (the JVM launcher) with AIRLOCK_NO_CLIENT=1: any other command or option (--org,
 * --hosts, --events, --no-daemon), no daemon socket or nobody listening on it, a policy with a
 * top-level `env:` (the JVM parses it), and an older daemon that answers notPooled (the JVM then
 * says so and runs it locally).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define AIRLOCK_ERROR 125

static char **handover_argv;

/* Runs the JVM launcher with the same arguments; the client never runs again in that process. */
static void hand_over(void) {
    setenv("AIRLOCK_NO_CLIENT", "1", 1);
    execv(handover_argv[0], handover_argv);
    fprintf(stderr, "airlock: cannot start %s: %s\n", handover_argv[0], strerror(errno));
    exit(AIRLOCK_ERROR);
}

/* ---- a growable byte buffer ---- */
typedef struct { char *p; size_t n, cap; } buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) { fputs("airlock: out of memory\n", stderr); exit(AIRLOCK_ERROR); }
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* A JSON string literal. */
static void put_json_string(buf *b, const char *s) {
    puts_(b, "\"");
    for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') { esc[0] = '\\'; esc[1] = (char) *c; put(b, esc, 2); }
        else if (*c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *c); puts_(b, esc); }
        else put(b, c, 1);
    }
    puts_(b, "\"");
}

/* ---- base64 ---- */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(buf *b, const unsigned char *d, size_t n) {
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = d[i] << 16 | (i + 1 < n ? d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=', i + 2 < n ? B64[v & 63] : '='};
        put(b, q, 4);
    }
}

/* Decodes in place; -1 when it is not base64. */
static long base64_decode(char *s, size_t n) {
    long out = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') break;
        const char *k = strchr(B64, s[i]);
        if (!k || !s[i]) return -1;
        v = v << 6 | (unsigned) (k - B64);
        bits += 6;
        if (bits >= 8) { bits -= 8; s[out++] = (char) (v >> bits & 0xff); }
    }
    return out;
}

/* ---- the little JSON the daemon sends: flat objects of strings, numbers, booleans ---- */

/* The raw value of top-level key `key` in object `line` (a string's content still escaped), or NULL. */
static const char *json_value(const char *line, const char *key, size_t *len) {
    const char *p = line;
    int depth = 0;
    while (*p) {
        if (*p == '"') {
            const char *start = ++p;
            while (*p && *p != '"') { if (*p == '\\' && p[1]) p++; p++; }
            size_t klen = (size_t) (p - start);
            if (*p) p++;
            while (*p == ' ') p++;
            if (depth == 1 && *p == ':' && klen == strlen(key) && strncmp(start, key, klen) == 0) {
                p++;
                while (*p == ' ') p++;
                const char *v = p;
                if (*p == '"') {
                    v = ++p;
                    while (*p && *p != '"') { if (*p == '\\' && p[1]) p++; p++; }
                    *len = (size_t) (p - v);
                    return v;
                }
                while (*p && *p != ',' && *p != '}' && *p != ']') p++;
                *len = (size_t) (p - v);
                return v;
            }
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') depth--;
        p++;
    }
    return NULL;
}

/* A string value unescaped (the \uXXXX of the BMP as UTF-8), or NULL. */
static char *json_string(const char *line, const char *key) {
    size_t n;
    const char *v = json_value(line, key, &n);
    if (!v || v == line || v[-1] != '"') return NULL;
    buf b = {0};
    puts_(&b, "");
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c != '\\' || i + 1 >= n) { put(&b, &c, 1); continue; }
        c = v[++i];
        switch (c) {
            case 'n': puts_(&b, "\n"); break;
            case 't': puts_(&b, "\t"); break;
            case 'r': puts_(&b, "\r"); break;
            case 'b': puts_(&b, "\b"); break;
            case 'f': puts_(&b, "\f"); break;
            case 'u': {
                unsigned u = '?';
                if (i + 4 < n) sscanf(v + i + 1, "%4x", &u);
                i += 4;
                char o[3];
                if (u < 0x80) { o[0] = (char) u; put(&b, o, 1); }
                else if (u < 0x800) { o[0] = (char) (0xc0 | u >> 6); o[1] = (char) (0x80 | (u & 63)); put(&b, o, 2); }
                else { o[0] = (char) (0xe0 | u >> 12); o[1] = (char) (0x80 | (u >> 6 & 63)); o[2] = (char) (0x80 | (u & 63)); put(&b, o, 3); }
                break;
            }
            default: put(&b, &c, 1);
        }
    }
    return b.p;
}

static double json_number(const char *line, const char *key, double otherwise) {
    size_t n;
    const char *v = json_value(line, key, &n);
    if (!v || v[-1] == '"') return otherwise;
    char *end;
    double d = strtod(v, &end);
    return end == v ? otherwise : d;
}

static int json_true(const char *line, const char *key) {
    size_t n;
    const char *v = json_value(line, key, &n);
    return v && n == 4 && strncmp(v, "true", 4) == 0;
}

/* ---- the terminal ---- */
static struct termios saved_termios;
static int terminal_raw;
static volatile sig_atomic_t resized;

static void restore_terminal(void) {
    if (terminal_raw) {
        tcsetattr(0, TCSADRAIN, &saved_termios);
        terminal_raw = 0;
    }
}

static void on_fatal_signal(int sig) {
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_winch(int sig) { (void) sig; resized = 1; }

static void window_size(int *rows, int *cols) {
    struct winsize w;
    if (ioctl(0, TIOCGWINSZ, &w) == 0 && w.ws_row > 0 && w.ws_col > 0) { *rows = w.ws_row; *cols = w.ws_col; }
    else { *rows = 24; *cols = 80; }
}

/* ---- I/O ---- */
static int sock = -1;

static int write_all(int fd, const void *d, size_t n) {
    const char *p = d;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/* One HTTP chunk holding `n` bytes of `d`. */
static int send_chunk(const void *d, size_t n) {
    buf b = {0};
    char head[32];
    snprintf(head, sizeof head, "%zx\r\n", n);
    puts_(&b, head);
    put(&b, d, n);
    puts_(&b, "\r\n");
    int r = write_all(sock, b.p, b.n);
    free(b.p);
    return r;
}

static void fail_io(const char *what) {
    restore_terminal();
    fprintf(stderr, "airlock: the daemon failed: %s: %s. Fix: see its log, or run with --no-daemon.\n", what, strerror(errno));
    exit(AIRLOCK_ERROR);
}

/* The answer's bytes, read as they come. */
static buf in;
static size_t in_pos;

static int fill(void) {
    char tmp[65536];
    ssize_t r;
    do { r = read(sock, tmp, sizeof tmp); } while (r < 0 && errno == EINTR);
    if (r < 0) fail_io("reading its answer");
    if (r > 0) put(&in, tmp, (size_t) r);
    return r > 0;
}

/* The next CRLF-ended line of what is buffered, or NULL when none is complete yet. */
static char *take_line(void) {
    char *nl = memchr(in.p + in_pos, '\n', in.n - in_pos);
    if (!nl) return NULL;
    char *line = in.p + in_pos;
    *nl = 0;
    if (nl > line && nl[-1] == '\r') nl[-1] = 0;
    in_pos = (size_t) (nl - in.p) + 1;
    return line;
}

static void compact(void) {
    if (in_pos > 0) {
        memmove(in.p, in.p + in_pos, in.n - in_pos);
        in.n -= in_pos;
        in_pos = 0;
        if (in.p) in.p[in.n] = 0;
    }
}

static int policy_has_env(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "env", 3) == 0) {
            const char *p = line + 3;
            while (*p == ' ' || *p == '\t') p++;
            found = *p == ':';
        }
    }
    fclose(f);
    return found;
}

/* As Java's toAbsolutePath().normalize(): the working directory prepended, "." and ".." removed
   by name (symbolic links kept, as the daemon's configuration keeps them). */
static char *absolute(const char *path) {
    char cwd[4096];
    buf joined = {0};
    if (path[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        puts_(&joined, cwd);
        puts_(&joined, "/");
    }
    puts_(&joined, path);
    char *out = calloc(joined.n + 2, 1);
    size_t n = 0;
    for (char *seg = strtok(joined.p, "/"); seg; seg = strtok(NULL, "/")) {
        if (strcmp(seg, ".") == 0) continue;
        if (strcmp(seg, "..") == 0) {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
            out[n] = 0;
            continue;
        }
        out[n++] = '/';
        strcpy(out + n, seg);
        n += strlen(seg);
    }
    if (n == 0) strcpy(out, "/");
    free(joined.p);
    return out;
}

static const char *socket_path(char *out, size_t n) {
    const char *env = getenv("AIRLOCK_DAEMON_SOCKET");
    if (env && *env) return env;
    const char *state = getenv("AIRLOCK_STATE");
    if (state && *state) { snprintf(out, n, "%s/daemon.sock", state); return out; }
    if (geteuid() == 0) return "/var/lib/airlock/daemon.sock";
    const char *home = getenv("HOME");
    snprintf(out, n, "%s/.local/state/airlock/daemon.sock", home ? home : "");
    return out;
}

/* A "from the daemon's pool" line like cli/PooledRun's. */
static void say_started(const char *line, const char *eol) {
    char *id = json_string(line, "sandbox");
    double ms = json_number(line, "claimMs", 0);
    fprintf(stderr, "airlock: sandbox %s from the daemon's pool (%s, claimed in %.1f ms", id ? id : "?",
            json_true(line, "warm") ? "warm" : "cold", (double) (long long) (ms * 10 + (ms >= 0 ? 0.5 : -0.5)) / 10.0);
    size_t n;
    if (json_value(line, "behind", &n)) {
        long at_start = (long) json_number(line, "behindAtStart", 0), behind = (long) json_number(line, "behind", 0);
        if (at_start == 0) fprintf(stderr, "; workspace at HEAD");
        else fprintf(stderr, "; workspace %ld commit(s) behind HEAD", at_start);
        if (behind > 0) fprintf(stderr, ", caught up %ld commit(s)", behind);
    }
    fprintf(stderr, ")%s", eol);
    free(id);
}

/* One line of the answer: output, the start record or the end. */
static void handle_line(const char *line, const char *eol, int say_start, int *exit_code, char **summary) {
    size_t n;
    if (json_value(line, "stream", &n)) {
        char *stream = json_string(line, "stream");
        const char *data = json_value(line, "data", &n);
        if (data) {
            char *copy = strndup(data, n);
            long len = base64_decode(copy, n);
            if (len > 0) write_all(stream && strcmp(stream, "stderr") == 0 ? 2 : 1, copy, (size_t) len);
            free(copy);
        }
        free(stream);
    } else if (json_value(line, "exit", &n)) {
        *exit_code = (int) json_number(line, "exit", AIRLOCK_ERROR);
        free(*summary);
        *summary = json_string(line, "summary");
    } else if (say_start && json_value(line, "sandbox", &n) && !json_true(line, "cold")) {
        say_started(line, eol);   /* a run of an unpooled policy says nothing at its start, as a cold run does not */
    }
}

/* The caller's terminal and locale variables (as CallerEnvironment picks them), then `extra`
   (NAME=VALUE strings, the explicit --env), which win: `"env":{...}` into `req`. */
static void put_env(buf *req, char **extra, int n_extra) {
    puts_(req, "\"env\":{");
    extern char **environ;
    int first = 1;
    for (char **e = environ; *e; e++) {
        char *eq = strchr(*e, '=');
        if (!eq) continue;
        size_t k = (size_t) (eq - *e);
        int terminal = (k == 4 && strncmp(*e, "TERM", 4) == 0) || (k == 9 && strncmp(*e, "COLORTERM", 9) == 0)
                || (k == 4 && strncmp(*e, "LANG", 4) == 0) || (k == 8 && strncmp(*e, "LANGUAGE", 8) == 0);
        int lc = k > 3 && strncmp(*e, "LC_", 3) == 0 && strspn(*e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == k;
        if (!terminal && !lc) continue;
        int overridden = 0;
        for (int x = 0; x < n_extra; x++) overridden |= strncmp(extra[x], *e, k + 1) == 0;
        if (overridden) continue;
        char *name = strndup(*e, k);
        puts_(req, first ? "" : ",");
        put_json_string(req, name);
        puts_(req, ":");
        put_json_string(req, eq + 1);
        free(name);
        first = 0;
    }
    for (int x = 0; x < n_extra; x++) {
        char *eq = strchr(extra[x], '=');
        char *name = strndup(extra[x], (size_t) (eq - extra[x]));
        puts_(req, first ? "" : ",");
        put_json_string(req, name);
        puts_(req, ":");
        put_json_string(req, eq + 1);
        free(name);
        first = 0;
    }
    puts_(req, "}");
}

static void put_command(buf *req, char **command) {
    puts_(req, "\"command\":[");
    for (char **c = command; *c; c++) {
        if (c != command) puts_(req, ",");
        put_json_string(req, *c);
    }
    puts_(req, "]");
}

/* The daemon's socket, connected; hands over when there is none or nobody listens. */
static void connect_daemon(void) {
    char sockbuf[4096];
    const char *path = socket_path(sockbuf, sizeof sockbuf);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) hand_over();
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, path);
    if (sock < 0 || connect(sock, (struct sockaddr *) &addr, sizeof addr) != 0) hand_over();   /* nobody listens */
}

/* The answer's status line and headers: its code, whether it is chunked, its length otherwise. */
static int read_head(int send_failed, int *chunked, long *length) {
    char *status = NULL;
    while (!(status = take_line())) if (!fill()) break;
    if (!status || strncmp(status, "HTTP/1.1 ", 9) != 0) {
        if (send_failed) fail_io("sending the request");
        fprintf(stderr, "airlock: the daemon failed: not an HTTP response from the daemon: %s. Fix: see its log, or run with --no-daemon.\n",
                status ? status : "(nothing)");
        exit(AIRLOCK_ERROR);
    }
    int code = atoi(status + 9);
    *chunked = 0;
    *length = 0;
    for (char *h;;) {
        while (!(h = take_line())) if (!fill()) break;
        if (!h || !*h) break;
        if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strcasestr(h, "chunked")) *chunked = 1;
        else if (strncasecmp(h, "content-length:", 15) == 0) *length = atol(h + 15);
    }
    return code;
}

/*
 * A command through the daemon: POST `path` with `req` (the request object, still open: the tty
 * size and its closing brace are added here), stdin up when `interactive`, a terminal when `want_tty`
 * and stdin is one, output down. Returns the command's exit code.
 */
static int converse(const char *path, buf *req, int interactive, int want_tty, int say_start) {
    int tty = interactive && want_tty && isatty(0);
    if (tty) {
        int rows, cols;
        window_size(&rows, &cols);
        char t[64];
        snprintf(t, sizeof t, ",\"tty\":{\"rows\":%d,\"cols\":%d}", rows, cols);
        puts_(req, t);
    }
    puts_(req, "}\n");

    /* the head and the request line in one write: the daemon may answer a short command at once */
    buf first_write = {0};
    puts_(&first_write, "POST ");
    puts_(&first_write, path);
    puts_(&first_write, " HTTP/1.1\r\nHost: airlock\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-ndjson\r\n\r\n");
    char head[32];
    snprintf(head, sizeof head, "%zx\r\n", req->n);
    puts_(&first_write, head);
    put(&first_write, req->p, req->n);
    puts_(&first_write, "\r\n");
    if (!interactive) puts_(&first_write, "0\r\n\r\n");   /* the command reads end-of-file */
    signal(SIGPIPE, SIG_IGN);
    int send_failed = write_all(sock, first_write.p, first_write.n) != 0;

    /* the answer's head, before stdin is touched: a daemon that does not pool the policy says so
       here, and the launcher then gets stdin whole */
    int chunked;
    long length;
    int code = read_head(send_failed, &chunked, &length);
    if (!chunked) {
        while ((long) (in.n - in_pos) < length && fill()) { }
        char *body = strndup(in.p ? in.p + in_pos : "", (size_t) length);
        if (json_true(body, "notPooled")) { close(sock); hand_over(); }
        char *error = json_string(body, "error");
        if (error) fprintf(stderr, "airlock: %s\n", error);
        else fprintf(stderr, "airlock: the daemon answered HTTP %d\n", code);
        return AIRLOCK_ERROR;
    }

    /* the run: stdin up, output down */
    const char *eol = "\n";
    if (tty) {
        if (tcgetattr(0, &saved_termios) == 0) {
            struct termios raw = saved_termios;
            cfmakeraw(&raw);
            atexit(restore_terminal);
            int fatal[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};
            for (size_t s = 0; s < sizeof fatal / sizeof *fatal; s++) signal(fatal[s], on_fatal_signal);
            if (tcsetattr(0, TCSADRAIN, &raw) == 0) terminal_raw = 1;
            eol = "\r\n";   /* raw output: a line needs its carriage return */
        }
        struct sigaction sa = {.sa_handler = on_winch};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGWINCH, &sa, NULL);   /* no SA_RESTART: poll returns and the size is sent */
    }
    int stdin_open = interactive, last_rows = -1, last_cols = -1, exit_code = -1, body_done = 0;
    char *summary = NULL;
    long chunk_left = 0;   /* 0: a chunk-size line is next */
    buf line = {0};
    puts_(&line, "");
    if (tty) window_size(&last_rows, &last_cols);
    compact();
    for (;;) {
        /* consume what is buffered: chunk sizes (blank lines between chunks skipped, as
           DaemonClient does), chunk data cut into NDJSON lines */
        while (!body_done) {
            if (chunk_left == 0) {
                char *size = take_line();
                if (!size) break;
                if (!*size) continue;
                chunk_left = strtol(size, NULL, 16);
                if (chunk_left <= 0) { body_done = 1; break; }
            }
            size_t avail = in.n - in_pos;
            if (avail == 0) break;
            size_t n = avail < (size_t) chunk_left ? avail : (size_t) chunk_left;
            for (size_t k = 0; k < n; k++) {
                char c = in.p[in_pos + k];
                if (c != '\n') { put(&line, &c, 1); continue; }
                handle_line(line.p, eol, say_start, &exit_code, &summary);
                line.n = 0;
                line.p[0] = 0;
            }
            in_pos += n;
            chunk_left -= (long) n;
        }
        compact();
        if (body_done) break;

        if (tty && resized) {
            resized = 0;
            int rows, cols;
            window_size(&rows, &cols);
            if (rows != last_rows || cols != last_cols) {
                char frame[64];
                int fn = snprintf(frame, sizeof frame, "{\"resize\":[%d,%d]}\n", rows, cols);
                send_chunk(frame, (size_t) fn);   /* a failure: the run ended, the reader says so */
                last_rows = rows;
                last_cols = cols;
            }
        }
        struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = stdin_open ? 0 : -1, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            fail_io("waiting for it");
        }
        if (fds[1].revents) {
            unsigned char data[16384];
            ssize_t r = (fds[1].revents & POLLNVAL) ? 0 : read(0, data, sizeof data);
            if (r < 0 && errno == EINTR) continue;
            if (r > 0) {
                if (tty) {
                    buf frame = {0};
                    puts_(&frame, "{\"stdin\":\"");
                    put_base64(&frame, data, (size_t) r);
                    puts_(&frame, "\"}\n");
                    send_chunk(frame.p, frame.n);
                    free(frame.p);
                } else {
                    send_chunk(data, (size_t) r);
                }
            } else {   /* the end of stdin (or an unreadable one) */
                write_all(sock, "0\r\n\r\n", 5);
                stdin_open = 0;
            }
        }
        if (fds[0].revents && !fill()) break;   /* the daemon closed the connection */
    }
    restore_terminal();
    if (exit_code < 0) {
        fputs("airlock: the daemon ended the run without an exit code (did it stop?). Fix: see its log.\n", stderr);
        return AIRLOCK_ERROR;
    }
    if (summary) fputs(summary, stderr);
    return exit_code;
}

/* The value of environment variable `name` when it is a positive decimal of at most 9 digits (the rule
   of sandbox/SandboxUser.fromEnvironment), else 0. */
static long sudo_id(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v || strlen(v) > 9) return 0;
    for (const char *c = v; *c; c++) if (*c < '0' || *c > '9') return 0;
    return strtol(v, NULL, 10);
}

/* One `run --env` value as cli/RunCommand takes it (runtime/CallerEnvironment): NAME=VALUE sets it,
   NAME passes the caller's value (nothing when the caller has none). Anything else: the JVM says
   how to write it. */
static void add_env_option(char **env, int *n_env, const char *option) {
    const char *eq = strchr(option, '=');
    if (eq) {
        if (eq == option) hand_over();
        env[(*n_env)++] = (char *) option;
        return;
    }
    size_t k = strlen(option);
    if (k == 0 || (option[0] >= '0' && option[0] <= '9')
            || strspn(option, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != k) hand_over();
    const char *value = getenv(option);
    if (!value) return;
    char *pair = malloc(k + strlen(value) + 2);
    if (!pair) hand_over();
    sprintf(pair, "%s=%s", option, value);
    env[(*n_env)++] = pair;
}

/* `airlock run [--policy FILE] [--workspace DIR] [--env NAME[=VALUE]]... -- COMMAND...` through the daemon: from its pool, or
   (a policy it does not pool, or --workspace) in a sandbox it prepares for this run in DIR, else in
   this directory, as a cold run would. */
static int run(int argc, char **argv) {
    const char *policy = "airlock.yaml", *workspace = NULL;
    char **env = calloc((size_t) argc, sizeof *env);
    int i = 3, n_env = 0;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) policy = argv[++i];
        else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) workspace = argv[++i];
        else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--") != 0) add_env_option(env, &n_env, argv[++i]);
        else if (strncmp(argv[i], "--env=", 6) == 0) add_env_option(env, &n_env, argv[i] + 6);
        else hand_over();
    }
    if (i >= argc - 1) hand_over();
    char **command = argv + i + 1;

    char *policy_abs = absolute(policy);
    if (!policy_abs || policy_has_env(policy_abs) != 0) hand_over();
    char *workspace_abs = absolute(workspace ? workspace : ".");
    if (!workspace_abs) hand_over();
    connect_daemon();

    buf req = {0};
    puts_(&req, "{\"policy\":");
    put_json_string(&req, policy_abs);
    /* where a policy the daemon does not pool runs (cli/RunCommand sends the same): "cold" when named */
    puts_(&req, ",\"workspace\":");
    put_json_string(&req, workspace_abs);
    if (workspace) puts_(&req, ",\"cold\":true");
    /* who that run runs as: the caller of sudo, as a cold run here would (none: nobody) */
    long uid = sudo_id("SUDO_UID"), gid = sudo_id("SUDO_GID");
    if (uid > 0 && gid > 0) {
        char ids[64];
        snprintf(ids, sizeof ids, ",\"sudoUid\":%ld,\"sudoGid\":%ld", uid, gid);
        puts_(&req, ids);
    }
    puts_(&req, ",");
    put_command(&req, command);
    puts_(&req, ",");
    put_env(&req, env, n_env);
    return converse("/v1/run", &req, 1, 1, 1);
}

/* The claimed session `ref` names (the exact id, else the exact name, else the one id it starts),
   as server/SessionRefs resolves it over GET /v1/sandboxes; exits 125 saying why when none. */
static char *resolve_session(const char *ref) {
    const char *get = "GET /v1/sandboxes HTTP/1.1\r\nHost: airlock\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    int send_failed = write_all(sock, get, strlen(get)) != 0;
    int chunked;
    long length;
    int code = read_head(send_failed, &chunked, &length);
    if (code != 200) hand_over();   /* nothing read from stdin or printed yet: the JVM says it its way */
    buf body = {0};
    puts_(&body, "");
    if (chunked) {
        for (;;) {
            char *size;
            while (!(size = take_line())) if (!fill()) break;
            if (!size) break;
            if (!*size) continue;
            long n = strtol(size, NULL, 16);
            if (n <= 0) break;
            while ((long) (in.n - in_pos) < n && fill()) { }
            if ((long) (in.n - in_pos) < n) break;
            put(&body, in.p + in_pos, (size_t) n);
            in_pos += (size_t) n;
        }
    } else {
        while ((long) (in.n - in_pos) < length && fill()) { }
        put(&body, in.p ? in.p + in_pos : "", (size_t) (in.n - in_pos) < (size_t) length ? in.n - in_pos : (size_t) length);
    }
    close(sock);
    sock = -1;
    in.n = 0;
    in_pos = 0;

    /* the top-level array's objects, each a flat record: sandbox, state, name, ... */
    char *by_name = NULL, *by_prefix = NULL, *exact = NULL;
    int n_prefix = 0, depth = 0;
    const char *start = NULL;
    for (const char *p = body.p; *p; p++) {
        if (*p == '"') { for (p++; *p && *p != '"'; p++) if (*p == '\\' && p[1]) p++; if (!*p) break; continue; }
        if (*p == '{' || *p == '[') { if (++depth == 2 && *p == '{') start = p; continue; }
        if (*p != '}' && *p != ']') continue;
        if (depth-- != 2 || *p != '}' || !start) continue;
        char *obj = strndup(start, (size_t) (p - start + 1));
        char *state = json_string(obj, "state"), *id = json_string(obj, "sandbox"), *name = json_string(obj, "name");
        if (state && id && strcmp(state, "claimed") == 0) {
            if (!exact && strcmp(id, ref) == 0) exact = strdup(id);
            if (!by_name && name && strcmp(name, ref) == 0) by_name = strdup(id);
            if (*ref && strncmp(id, ref, strlen(ref)) == 0) {
                n_prefix++;
                free(by_prefix);
                by_prefix = strdup(id);
            }
        }
        free(state); free(id); free(name); free(obj);
        start = NULL;
    }
    if (exact) return exact;
    if (by_name) return by_name;
    if (n_prefix == 1) return by_prefix;
    if (n_prefix == 0) {
        fprintf(stderr, "airlock: no session %s; see `airlock sandbox list`\n", ref);
        exit(AIRLOCK_ERROR);
    }
    hand_over();   /* ambiguous: the JVM lists the candidates, sorted, in its words */
    return NULL;
}

/* `airlock sandbox exec [-i] [-t] [-e K=V]... SESSION [--] COMMAND...` and `airlock sandbox attach
   SESSION`, in a session claimed earlier, as cli/SessionExec runs them. */
static int session(int argc, char **argv) {
    int attach = strcmp(argv[3], "attach") == 0, interactive = attach, want_tty = attach, n_env = 0, n_pos = 0, options_end = 0;
    char **env = calloc((size_t) argc, sizeof *env), **pos = calloc((size_t) argc + 1, sizeof *pos);
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || !a[1]) { pos[n_pos++] = argv[i]; continue; }
        if (strcmp(a, "--") == 0) { options_end = 1; continue; }
        if (attach) hand_over();   /* --help, --version, ... */
        if (strcmp(a, "-i") == 0 || strcmp(a, "--interactive") == 0) interactive = 1;
        else if (strcmp(a, "-t") == 0 || strcmp(a, "--tty") == 0) want_tty = 1;
        else if (strcmp(a, "-it") == 0 || strcmp(a, "-ti") == 0) interactive = want_tty = 1;
        else if ((strcmp(a, "-e") == 0 || strcmp(a, "--env") == 0) && i + 1 < argc) env[n_env++] = argv[++i];
        else if (strncmp(a, "--env=", 6) == 0) env[n_env++] = argv[i] + 6;
        else hand_over();
    }
    for (int x = 0; x < n_env; x++) {
        char *eq = strchr(env[x], '=');
        if (!eq || eq == env[x]) hand_over();   /* the JVM says how to write it */
    }
    if (attach ? n_pos != 1 : n_pos < 2) hand_over();   /* a usage error: picocli's words */
    connect_daemon();
    char *id = resolve_session(pos[0]);
    connect_daemon();

    static char *login_shell[] = {"/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l -i; fi; exec sh -l -i", NULL};
    buf req = {0};
    puts_(&req, "{");
    put_command(&req, attach ? login_shell : pos + 1);
    puts_(&req, ",");
    put_env(&req, env, n_env);
    if (attach) {
        fprintf(stderr, "airlock: a new shell in session %s; `exit` or Ctrl-D leaves it (the session stays, `airlock sandbox stop %s` ends it)\n",
                id, id);
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/sandboxes/%s/exec", id);
    return converse(path, &req, interactive, want_tty, 0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fputs("usage: airlock-client LAUNCHER run [--policy FILE] -- COMMAND...\n"
              "       airlock-client LAUNCHER sandbox exec [-i] [-t] [-e K=V]... SESSION [--] COMMAND...\n"
              "       airlock-client LAUNCHER sandbox attach SESSION\n", stderr);
        return AIRLOCK_ERROR;
    }
    handover_argv = argv + 1;   /* LAUNCHER and, after it, the arguments as they came */
    if (getenv("AIRLOCK_NO_CLIENT")) hand_over();
    if (strcmp(argv[2], "run") == 0) return run(argc, argv);
    if (strcmp(argv[2], "sandbox") == 0 && argc > 3 && (strcmp(argv[3], "exec") == 0 || strcmp(argv[3], "attach") == 0)) {
        return session(argc, argv);
    }
    hand_over();
}
