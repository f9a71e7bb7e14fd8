/* An environment in another process, spoken to through wm's environment protocol (DESIGN.md, README): a child
 * started with /bin/sh -c (`exec:COMMAND`, over its stdin and stdout) or a server (`tcp:HOST:PORT`). Every message
 * is one line of JSON; a reply to a reset or a step is followed by the frame's RGB24 bytes. Each message from the
 * environment is checked (sizes, types, finite values) and numbered, so a bad one is named in one line. */
#ifndef WM_DATA_ENV_REMOTE_H
#define WM_DATA_ENV_REMOTE_H

#include <stdint.h>

#include "core/error.h"

#define WM_REMOTE_TIMEOUT_DEFAULT 60.0 /* seconds wm waits for any message before it gives up */

typedef struct WmRemote WmRemote;

/* What the environment's first message declares. */
typedef struct {
    int height, width; /* of its frames, before any resize */
    int action_dim, state_dim;
    double control_hz; /* 0: steps as fast as wm asks */
} WmRemoteSpec;

/* One reply to a reset or a step. */
typedef struct {
    double reward;
    int terminal, last;
} WmRemoteReply;

/* Names wm takes as remote environments: exec:COMMAND and tcp:HOST:PORT. */
int env_remote_is_name(const char *name);
/* Starts or connects to the environment and reads its first message. timeout_seconds <= 0: the default. */
WmStatus env_remote_open(WmRemote **remote, const char *name, double timeout_seconds, WmError *err);
const WmRemoteSpec *env_remote_spec(const WmRemote *remote);
const char *env_remote_name(const WmRemote *remote);
void env_remote_set_timeout(WmRemote *remote, double seconds); /* <= 0: the default */
/* Sends close, waits briefly for a child to leave (then kills it), frees. NULL is a no-op. */
void env_remote_close(WmRemote *remote);

/* A reset with `seed`, or a step with `action` (action_dim numbers, sent clipped to [-1, 1], NaN as 0). The frame
 * comes back resized to height x width into rgb (which may be NULL); the state stays in the remote
 * (env_remote_state). */
WmStatus env_remote_reset(WmRemote *remote, uint32_t seed, uint8_t *rgb, int height, int width, WmRemoteReply *reply,
                          WmError *err);
WmStatus env_remote_step(WmRemote *remote, const float *action, uint8_t *rgb, int height, int width,
                         WmRemoteReply *reply, WmError *err);
/* The state_dim numbers that came with the last frame; NULL when the environment sends none. */
const float *env_remote_state(const WmRemote *remote);

#endif
