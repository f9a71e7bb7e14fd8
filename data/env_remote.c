#define _GNU_SOURCE /* pipe2, MSG_NOSIGNAL */
#include "data/env_remote.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "data/episode.h"
#include "data/frame_resize.h"

enum {
    REMOTE_NAME_MAX = 512,
    REMOTE_LINE_MAX = 1 << 22, /* a message line: a state of 65536 numbers at up to 24 characters each fits */
    REMOTE_SIDE_MAX = 4096,    /* frame height and width */
    REMOTE_BUFFER = 1 << 16,
};

struct WmRemote {
    char name[REMOTE_NAME_MAX];
    int fd_read, fd_write; /* the child's stdout and stdin, or one socket twice */
    int is_socket;
    pid_t child; /* 0 for a server */
    double timeout;
    long received; /* messages read from the environment, the first numbered 1 */
    WmRemoteSpec spec;
    char *line;          /* the last message's line, NUL-terminated */
    uint8_t *frame;      /* the last frame as sent */
    float *state;        /* the state that came with it (state_dim numbers), NULL for none */
    uint8_t buffer[REMOTE_BUFFER];
    size_t start, end; /* unread bytes of buffer */
};

static const cJSON *field(const cJSON *message, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(message, key);
}

int env_remote_is_name(const char *name) { return strncmp(name, "exec:", 5) == 0 || strncmp(name, "tcp:", 4) == 0; }

const WmRemoteSpec *env_remote_spec(const WmRemote *remote) { return &remote->spec; }
const char *env_remote_name(const WmRemote *remote) { return remote->name; }
const float *env_remote_state(const WmRemote *remote) { return remote->state; }
void env_remote_set_timeout(WmRemote *remote, double seconds) {
    remote->timeout = seconds > 0.0 ? seconds : WM_REMOTE_TIMEOUT_DEFAULT;
}

/* How a child that closed its end has left, for the message that says so. */
static const char *child_exit(WmRemote *r, char *text, size_t size) {
    int status;
    text[0] = '\0';
    if (r->child <= 0) return text;
    for (int tries = 0; tries < 20; tries++) { /* it may still be on its way out: up to 0.2 s */
        if (waitpid(r->child, &status, WNOHANG) == r->child) {
            if (WIFEXITED(status)) snprintf(text, size, " (it exited with status %d)", WEXITSTATUS(status));
            else if (WIFSIGNALED(status)) snprintf(text, size, " (it was killed by signal %d)", WTERMSIG(status));
            r->child = 0;
            return text;
        }
        usleep(10000);
    }
    return text;
}

/* Waits until fd is ready for `events`, up to the timeout: 0, or an error naming what was awaited. */
static WmStatus await(WmRemote *r, int fd, short events, const char *what, WmError *err) {
    const double deadline = wm_clock_seconds() + r->timeout;
    for (;;) {
        const double left = deadline - wm_clock_seconds();
        if (left <= 0.0)
            return wm_error_set(err, WM_ERR_IO, "%s: no answer within %.3g s while waiting for %s", r->name,
                                r->timeout, what);
        struct pollfd p = {fd, events, 0};
        const int ready = poll(&p, 1, (int)ceil(left * 1000.0));
        if (ready > 0) return WM_OK;
        if (ready < 0 && errno != EINTR)
            return wm_error_set(err, WM_ERR_IO, "%s: waiting for %s: %s", r->name, what, strerror(errno));
    }
}

/* More bytes into the buffer (which the caller has emptied or compacted). */
static WmStatus fill(WmRemote *r, const char *what, WmError *err) {
    if (await(r, r->fd_read, POLLIN, what, err)) return err->status;
    ssize_t got;
    do got = read(r->fd_read, r->buffer + r->end, sizeof r->buffer - r->end);
    while (got < 0 && errno == EINTR);
    if (got < 0) return wm_error_set(err, WM_ERR_IO, "%s: reading %s: %s", r->name, what, strerror(errno));
    if (got == 0) {
        char exit_text[64];
        return wm_error_set(err, WM_ERR_IO, "%s: the environment closed the stream before %s%s", r->name, what,
                            child_exit(r, exit_text, sizeof exit_text));
    }
    r->end += (size_t)got;
    return WM_OK;
}

/* The next line (without its newline) into r->line. */
static WmStatus read_line(WmRemote *r, const char *what, WmError *err) {
    size_t length = 0;
    for (;;) {
        const uint8_t *newline = memchr(r->buffer + r->start, '\n', r->end - r->start);
        const size_t take = newline ? (size_t)(newline - (r->buffer + r->start)) : r->end - r->start;
        if (length + take > REMOTE_LINE_MAX)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s) is longer than %d bytes", r->name,
                                r->received + 1, what, REMOTE_LINE_MAX);
        memcpy(r->line + length, r->buffer + r->start, take);
        length += take;
        r->start += take + (newline != NULL);
        if (r->start == r->end) r->start = r->end = 0;
        if (newline) break;
        if (fill(r, what, err)) return err->status;
    }
    r->line[length] = '\0';
    r->received++;
    return WM_OK;
}

static WmStatus read_bytes(WmRemote *r, uint8_t *out, size_t n, const char *what, WmError *err) {
    while (n > 0) {
        if (r->start == r->end && fill(r, what, err)) return err->status;
        const size_t take = r->end - r->start < n ? r->end - r->start : n;
        memcpy(out, r->buffer + r->start, take);
        out += take, n -= take, r->start += take;
        if (r->start == r->end) r->start = r->end = 0;
    }
    return WM_OK;
}

static WmStatus write_all(WmRemote *r, const char *text, size_t n, WmError *err) {
    while (n > 0) {
        if (await(r, r->fd_write, POLLOUT, "room to send a message", err)) return err->status;
        const ssize_t sent = r->is_socket ? send(r->fd_write, text, n, MSG_NOSIGNAL) : write(r->fd_write, text, n);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) {
            char exit_text[64];
            return wm_error_set(err, WM_ERR_IO, "%s: sending message to the environment: %s%s", r->name,
                                errno == EPIPE ? "it closed its input" : strerror(errno),
                                child_exit(r, exit_text, sizeof exit_text));
        }
        text += sent, n -= (size_t)sent;
    }
    return WM_OK;
}

/* The last line as a JSON object, or an error; an {"error": ...} from the environment stops with its text. */
static WmStatus parse_message(WmRemote *r, const char *what, cJSON **out, WmError *err) {
    cJSON *message = cJSON_Parse(r->line);
    if (message == NULL || !cJSON_IsObject(message)) {
        cJSON_Delete(message);
        /* Python's json module writes a non-finite float as NaN or Infinity, which JSON has no word for. */
        const int non_finite = strstr(r->line, "NaN") != NULL || strstr(r->line, "Infinity") != NULL;
        return wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s) is not a JSON object%s: %.80s", r->name,
                            r->received, what, non_finite ? " (it holds NaN or Infinity: a value is not finite)" : "",
                            r->line);
    }
    const cJSON *said = field(message, "error");
    if (said != NULL) {
        wm_error_set(err, WM_ERR_IO, "%s: message %ld: the environment says: %s", r->name, r->received,
                     cJSON_IsString(said) ? said->valuestring : "(an error that is not a string)");
        cJSON_Delete(message);
        return err->status;
    }
    *out = message;
    return WM_OK;
}

/* item as an integer in [lo, hi], or an error naming it by label. */
static WmStatus int_in(const WmRemote *r, const cJSON *item, const char *label, long lo, long hi, const char *what,
                       long *value, WmError *err) {
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) || item->valuedouble < (double)lo ||
        item->valuedouble > (double)hi)
        return wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s): \"%s\" must be an integer in [%ld, %ld]",
                            r->name, r->received, what, label, lo, hi);
    *value = (long)item->valuedouble;
    return WM_OK;
}

static WmStatus read_hello(WmRemote *r, WmError *err) {
    const char *what = "the environment's first message";
    cJSON *hello = NULL;
    if (read_line(r, what, err) || parse_message(r, what, &hello, err)) return err->status;
    long version = 0, height = 0, width = 0, channels = 0, action_dim = 0, state_dim = 0;
    const cJSON *image = field(hello, "image"), *states = field(hello, "state_dim"), *hz = field(hello, "control_hz");
    if (int_in(r, field(hello, "wm_env"), "wm_env", 1, 1, what, &version, err)) goto done;
    if (!cJSON_IsArray(image) || cJSON_GetArraySize(image) != 3) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s): \"image\" must be [H, W, 3]", r->name, r->received,
                     what);
        goto done;
    }
    if (int_in(r, cJSON_GetArrayItem(image, 0), "image[0]", 1, REMOTE_SIDE_MAX, what, &height, err) ||
        int_in(r, cJSON_GetArrayItem(image, 1), "image[1]", 1, REMOTE_SIDE_MAX, what, &width, err) ||
        int_in(r, cJSON_GetArrayItem(image, 2), "image[2]", 3, 3, what, &channels, err) ||
        int_in(r, field(hello, "action_dim"), "action_dim", 1, WM_EPISODE_ACTION_MAX, what, &action_dim, err) ||
        (states != NULL && int_in(r, states, "state_dim", 0, WM_EPISODE_STATE_MAX, what, &state_dim, err)))
        goto done;
    if (hz != NULL && (!cJSON_IsNumber(hz) || !isfinite(hz->valuedouble) || hz->valuedouble < 0.0)) {
        wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s): \"control_hz\" must be a number >= 0", r->name,
                     r->received, what);
        goto done;
    }
    r->spec = (WmRemoteSpec){(int)height, (int)width, (int)action_dim, (int)state_dim, hz ? hz->valuedouble : 0.0};
    r->frame = malloc((size_t)height * width * 3);
    r->state = state_dim > 0 ? calloc((size_t)state_dim, sizeof(float)) : NULL;
    if (r->frame == NULL || (state_dim > 0 && r->state == NULL))
        wm_error_set(err, WM_ERR_NOMEM, "%s: a frame of %ldx%ld: out of memory", r->name, width, height);
done:
    cJSON_Delete(hello);
    return err->status;
}

static WmStatus spawn(WmRemote *r, const char *command, WmError *err) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0) return wm_error_set(err, WM_ERR_IO, "%s: pipe: %s", r->name, strerror(errno));
    if (pipe2(from_child, O_CLOEXEC) != 0) {
        close(to_child[0]), close(to_child[1]);
        return wm_error_set(err, WM_ERR_IO, "%s: pipe: %s", r->name, strerror(errno));
    }
    /* A child that leaves must not take wm with it: a write to its closed stdin is then EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) {
        close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
        return wm_error_set(err, WM_ERR_IO, "%s: fork: %s", r->name, strerror(errno));
    }
    if (pid == 0) { /* the child: its stdin and stdout are the pipes, its stderr is wm's */
        setpgid(0, 0); /* its own group, so a child that will not leave is killed with whatever the shell started */
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]), close(from_child[1]);
    r->child = pid, r->fd_write = to_child[1], r->fd_read = from_child[0];
    return WM_OK;
}

static WmStatus connect_to(WmRemote *r, const char *address, WmError *err) {
    char host[REMOTE_NAME_MAX];
    snprintf(host, sizeof host, "%s", address);
    char *colon = strrchr(host, ':');
    if (colon == NULL || colon == host || colon[1] == '\0')
        return wm_error_set(err, WM_ERR_ARG, "%s: expected tcp:HOST:PORT", r->name);
    *colon = '\0';
    const char *port = colon + 1;
    char *name = host;
    if (name[0] == '[' && name[strlen(name) - 1] == ']') name[strlen(name) - 1] = '\0', name++; /* [::1] */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found = NULL;
    const int looked = getaddrinfo(name, port, &hints, &found);
    if (looked != 0) return wm_error_set(err, WM_ERR_IO, "%s: %s", r->name, gai_strerror(looked));
    int fd = -1, why = 0;
    for (struct addrinfo *a = found; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) why = errno, close(fd), fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot connect: %s", r->name, strerror(why ? why : errno));
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* one small message a step: no Nagle delay */
    r->is_socket = 1, r->fd_read = r->fd_write = fd;
    return WM_OK;
}

WmStatus env_remote_open(WmRemote **out, const char *name, double timeout_seconds, WmError *err) {
    *out = NULL;
    WmRemote *r = calloc(1, sizeof *r);
    if (r == NULL || (r->line = malloc(REMOTE_LINE_MAX + 1)) == NULL) {
        free(r);
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", name);
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->fd_read = r->fd_write = -1;
    r->timeout = timeout_seconds > 0.0 ? timeout_seconds : WM_REMOTE_TIMEOUT_DEFAULT;
    const int exec = strncmp(name, "exec:", 5) == 0;
    WmStatus status = exec ? spawn(r, name + 5, err) : connect_to(r, name + 4, err);
    if (status == WM_OK) status = read_hello(r, err);
    if (status != WM_OK) {
        env_remote_close(r);
        return status;
    }
    *out = r;
    return WM_OK;
}

void env_remote_close(WmRemote *r) {
    if (r == NULL) return;
    if (r->fd_write >= 0 && r->frame != NULL) { /* only a peer that said hello is told goodbye */
        static const char bye[] = "{\"close\": true}\n";
        const ssize_t sent = r->is_socket ? send(r->fd_write, bye, sizeof bye - 1, MSG_NOSIGNAL | MSG_DONTWAIT)
                                          : write(r->fd_write, bye, sizeof bye - 1);
        (void)sent; /* it may be gone already */
    }
    if (r->fd_read >= 0) close(r->fd_read);
    if (r->fd_write >= 0 && r->fd_write != r->fd_read) close(r->fd_write);
    if (r->child > 0) { /* 2 s to leave on its own, then it is killed */
        int status;
        pid_t done = 0;
        for (int tries = 0; tries < 200 && (done = waitpid(r->child, &status, WNOHANG)) == 0; tries++) usleep(10000);
        if (done == 0) kill(-r->child, SIGKILL), waitpid(r->child, &status, 0);
    }
    free(r->line);
    free(r->frame);
    free(r->state);
    free(r);
}

/* The reply to a reset or a step: its numbers into reply and state, then its frame. */
static WmStatus read_reply(WmRemote *r, const char *what, uint8_t *rgb, int height, int width,
                           WmRemoteReply *reply, WmError *err) {
    cJSON *message = NULL;
    if (read_line(r, what, err) || parse_message(r, what, &message, err)) return err->status;
    const cJSON *reward = field(message, "reward"), *terminal = field(message, "terminal"),
                *last = field(message, "last"), *states = field(message, "state");
    const long expected = (long)r->spec.height * r->spec.width * 3;
    const int S = r->spec.state_dim, states_sent = cJSON_IsArray(states) ? cJSON_GetArraySize(states) : -1;
    const cJSON *bytes = field(message, "bytes");
    char wrong[160] = "";
    if (!cJSON_IsNumber(reward) || !isfinite(reward->valuedouble))
        snprintf(wrong, sizeof wrong, "\"reward\" must be a finite number");
    else if (!cJSON_IsBool(terminal) || !cJSON_IsBool(last))
        snprintf(wrong, sizeof wrong, "\"terminal\" and \"last\" must be true or false");
    else if (S > 0 && states_sent != S)
        snprintf(wrong, sizeof wrong, "\"state\" must be a list of state_dim = %d numbers (it %s %d)", S,
                 states_sent < 0 ? "is not a list:" : "holds", states_sent < 0 ? 0 : states_sent);
    else if (!cJSON_IsNumber(bytes) || bytes->valuedouble != (double)expected)
        snprintf(wrong, sizeof wrong, "\"bytes\" must be %ld, the size of a %dx%d RGB frame as the first message said",
                 expected, r->spec.width, r->spec.height);
    float *state = r->state;
    for (const cJSON *v = S > 0 && !wrong[0] ? states->child : NULL; v != NULL; v = v->next) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            snprintf(wrong, sizeof wrong, "\"state\" holds a value that is not a finite number");
            break;
        }
        *state++ = (float)v->valuedouble;
    }
    if (wrong[0]) wm_error_set(err, WM_ERR_FORMAT, "%s: message %ld (%s): %s", r->name, r->received, what, wrong);
    else {
        reply->reward = reward->valuedouble;
        reply->terminal = cJSON_IsTrue(terminal), reply->last = cJSON_IsTrue(last) || reply->terminal;
    }
    cJSON_Delete(message);
    if (err->status != WM_OK) return err->status;
    char frame_what[96];
    snprintf(frame_what, sizeof frame_what, "the %ld bytes of message %ld's frame", expected, r->received);
    if (read_bytes(r, r->frame, (size_t)expected, frame_what, err)) return err->status;
    if (rgb) frame_resize_rgb(rgb, height, width, r->frame, r->spec.height, r->spec.width);
    return WM_OK;
}

WmStatus env_remote_reset(WmRemote *r, uint32_t seed, uint8_t *rgb, int height, int width, WmRemoteReply *reply,
                          WmError *err) {
    char text[64];
    const int n = snprintf(text, sizeof text, "{\"reset\": %u}\n", seed);
    if (write_all(r, text, (size_t)n, err)) return err->status;
    return read_reply(r, "a reset's reply", rgb, height, width, reply, err);
}

WmStatus env_remote_step(WmRemote *r, const float *action, uint8_t *rgb, int height, int width,
                         WmRemoteReply *reply, WmError *err) {
    const int A = r->spec.action_dim;
    char *text = r->line; /* the last message is parsed: its buffer holds this one (A <= 4096 numbers of <= 16) */
    size_t n = (size_t)snprintf(text, REMOTE_LINE_MAX, "{\"step\": [");
    for (int a = 0; a < A; a++) {
        const float v = action[a]; /* clipped as the built-in tasks clip it, NaN to 0 */
        const float clipped = isnan(v) ? 0.0f : v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
        n += (size_t)snprintf(text + n, REMOTE_LINE_MAX - n, "%s%.9g", a ? ", " : "", (double)clipped);
    }
    n += (size_t)snprintf(text + n, REMOTE_LINE_MAX - n, "]}\n");
    if (write_all(r, text, n, err)) return err->status;
    return read_reply(r, "a step's reply", rgb, height, width, reply, err);
}
