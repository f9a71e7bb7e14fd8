#include "data/env.h"

#include <math.h>
#include <string.h>

#include "data/env_remote.h"
#include "data/env_spec.h"
#include "data/physics.h"

static const WmEnvSpec *const ENV_SPECS[] = {&ENV_CARTPOLE_SWINGUP,     &ENV_PENDULUM_SWINGUP,
                                             &ENV_REACHER_EASY,         &ENV_POINT_MASS_EASY,
                                             &ENV_DMC_CARTPOLE_SWINGUP, &ENV_DMC_PENDULUM_SWINGUP,
                                             &ENV_DMC_REACHER_EASY,     &ENV_DMC_POINT_MASS_EASY,
                                             &ENV_DMC_CHEETAH_RUN,      &ENV_DMC_WALKER_WALK,
                                             &ENV_DMC_FINGER_SPIN,      &ENV_DMC_CUP_CATCH};
enum { ENV_COUNT = sizeof ENV_SPECS / sizeof ENV_SPECS[0] };

static const WmEnvSpec *find_spec(const char *name) {
    for (int i = 0; i < ENV_COUNT; i++)
        if (strcmp(ENV_SPECS[i]->name, name) == 0) return ENV_SPECS[i];
    return NULL;
}

const char *env_task_name(int index) { return index >= 0 && index < ENV_COUNT ? ENV_SPECS[index]->name : NULL; }

const char *env_names(void) {
    return "cartpole-swingup, pendulum-swingup, reacher-easy, point-mass-easy, dmc-cartpole-swingup, "
           "dmc-pendulum-swingup, dmc-reacher-easy, dmc-point-mass-easy, dmc-cheetah-run, dmc-walker-walk, "
           "dmc-finger-spin, dmc-cup-catch, exec:COMMAND, tcp:HOST:PORT";
}

int env_default_action_repeat(const char *name) {
    if (env_remote_is_name(name)) return 1;
    const WmEnvSpec *spec = find_spec(name);
    return spec ? spec->action_repeat : -1;
}

/* A dmc- twin's physics state (qpos, then qvel): how many numbers, and where number i sits in the task's state
 * (-1: held at 0). */
static int physics_numbers(const WmEnvSpec *spec) {
    return spec->mujoco_order ? spec->mujoco_state_dim : spec->state_dim;
}
static int state_index(const WmEnvSpec *spec, int i) { return spec->mujoco_order ? spec->mujoco_order[i] : i; }

WmStatus env_create(WmEnv *env, const char *name, uint64_t seed, int action_repeat, WmError *err) {
    memset(env, 0, sizeof *env);
    if (env_remote_is_name(name)) {
        env->action_repeat = 1; /* the remote environment's own repeat, if any, is inside its step */
        env->rng = rng_stream(seed, WM_STREAM_ENV);
        return env_remote_open(&env->remote, name, 0.0, err);
    }
    env->spec = find_spec(name);
    if (env->spec == NULL) return wm_error_set(err, WM_ERR_ARG, "unknown environment '%s' (known: %s)", name, env_names());
    /* The built-in tasks' sizes bound env_step's and integrate's stack buffers. */
    if (env->spec->action_dim > WM_ENV_ACTION_MAX || env->spec->state_dim > WM_ENV_STATE_MAX)
        return wm_error_set(err, WM_ERR_FORMAT, "environment '%s': %d actions and %d states exceed %d and %d", name,
                            env->spec->action_dim, env->spec->state_dim, WM_ENV_ACTION_MAX, WM_ENV_STATE_MAX);
    if (action_repeat < 0 || action_repeat > WM_ENV_EPISODE_STEPS)
        return wm_error_set(err, WM_ERR_ARG, "action repeat %d out of range [1, %d]", action_repeat,
                            WM_ENV_EPISODE_STEPS);
    env->action_repeat = action_repeat ? action_repeat : env->spec->action_repeat;
    env->rng = rng_stream(seed, WM_STREAM_ENV);
    if (env->spec->mujoco_model) {
        if (physics_open(&env->physics, name, env->spec->mujoco_model, env->spec->dt / env->spec->substeps,
                         env->spec->action_dim, WM_ENV_SIZE, err))
            return err->status;
        const int sensors = env->spec->reset == NULL;
        const int expected = sensors ? env->spec->state_dim : physics_numbers(env->spec);
        const int has = sensors ? physics_sensor_dim(env->physics) : physics_state_dim(env->physics);
        if (has != expected)
            return wm_error_set(err, WM_ERR_FORMAT, "%s: the model has %d %s, the task %d", name, has,
                                sensors ? "sensor readings" : "state variables", expected);
        return WM_OK;
    }
    env->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, WM_ENV_SIZE, WM_ENV_SIZE);
    if (cairo_surface_status(env->surface) != CAIRO_STATUS_SUCCESS)
        return wm_error_set(err, WM_ERR_NOMEM, "environment '%s': cannot create a drawing surface", name);
    return WM_OK;
}

void env_free(WmEnv *env) {
    env_remote_close(env->remote);
    if (env->surface) cairo_surface_destroy(env->surface);
    physics_close(env->physics);
    memset(env, 0, sizeof *env);
}

const char *env_name(const WmEnv *env) { return env->remote ? env_remote_name(env->remote) : env->spec->name; }

int env_action_dim(const WmEnv *env) {
    return env->remote ? env_remote_spec(env->remote)->action_dim : env->spec->action_dim;
}

int env_episode_length(const WmEnv *env) {
    if (env->remote) return 0;
    return (WM_ENV_EPISODE_STEPS + env->action_repeat - 1) / env->action_repeat;
}

int env_state_dim(const WmEnv *env) { return env->remote ? env_remote_spec(env->remote)->state_dim : 0; }
const float *env_state_seen(const WmEnv *env) { return env->remote ? env_remote_state(env->remote) : NULL; }

void env_set_timeout(WmEnv *env, double seconds) {
    if (env->remote) env_remote_set_timeout(env->remote, seconds);
}

double env_tolerance_linear(double x, double lo, double hi, double margin, double value_at_margin) {
    if (x >= lo && x <= hi) return 1.0;
    if (margin <= 0.0) return 0.0;
    const double d = (x < lo ? lo - x : x - hi) / margin;
    return fmax(0.0, 1.0 - d * (1.0 - value_at_margin));
}

double env_tolerance(double x, double lo, double hi, double margin, WmTolerance sigmoid) {
    if (x >= lo && x <= hi) return 1.0;
    if (margin <= 0.0) return 0.0;
    double d = (x < lo ? lo - x : x - hi) / margin;
    if (sigmoid == WM_TOL_GAUSSIAN) return pow(0.1, d * d);
    return fmax(0.0, 1.0 - d * d);
}

void env_hard_stop(double *position, double *velocity, double lo, double hi) {
    if (*position < lo) {
        *position = lo;
        if (*velocity < 0.0) *velocity = 0.0;
    } else if (*position > hi) {
        *position = hi;
        if (*velocity > 0.0) *velocity = 0.0;
    }
}

void env_fill(cairo_t *cr, double r, double g, double b) {
    cairo_set_source_rgb(cr, r, g, b);
    cairo_fill(cr);
}

void env_checker_floor(cairo_t *cr, int cell) {
    for (int y = 0; y < WM_ENV_SIZE; y += cell)
        for (int x = 0; x < WM_ENV_SIZE; x += cell) {
            cairo_rectangle(cr, x, y, cell, cell);
            int dark = ((x + y) / cell) % 2;
            env_fill(cr, dark ? 0.1 : 0.2, dark ? 0.2 : 0.3, dark ? 0.3 : 0.4);
        }
}

/* The task's state and the physics' (qpos, qvel), through the spec's order. */
enum { PHYSICS_STATE_MAX = 2 * WM_ENV_STATE_MAX };

static void to_physics(const WmEnv *env) {
    double q[PHYSICS_STATE_MAX] = {0};
    for (int i = 0; i < physics_numbers(env->spec); i++) {
        const int at = state_index(env->spec, i);
        q[i] = at >= 0 ? env->state[at] : 0.0;
    }
    physics_set_state(env->physics, q);
}

static void physics_advance(WmEnv *env, const float *action) {
    const WmEnvSpec *spec = env->spec;
    for (int s = 1; s < spec->substeps; s++) physics_step(env->physics, action, NULL);
    if (spec->reset == NULL) { /* a task of the suite's alone: its state is what the sensors read */
        physics_step(env->physics, action, NULL);
        physics_sensors(env->physics, env->state);
        return;
    }
    double q[PHYSICS_STATE_MAX];
    physics_step(env->physics, action, q);
    for (int i = 0; i < physics_numbers(spec); i++)
        if (state_index(spec, i) >= 0) env->state[state_index(spec, i)] = q[i];
}

static void render(WmEnv *env, uint8_t *rgb) {
    if (rgb == NULL) return;
    if (env->physics) {
        physics_render(env->physics, rgb);
        return;
    }
    cairo_surface_t *surface = env->surface;
    cairo_t *cr = cairo_create(surface);
    env->spec->draw(env->state, cr);
    cairo_destroy(cr);
    cairo_surface_flush(surface);
    const unsigned char *data = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);
    for (int y = 0; y < WM_ENV_SIZE; y++)
        for (int x = 0; x < WM_ENV_SIZE; x++) {
            uint32_t pixel;
            memcpy(&pixel, data + (size_t)y * stride + 4 * x, 4); /* native-endian xRGB */
            uint8_t *out = rgb + ((size_t)y * WM_ENV_SIZE + x) * 3;
            out[0] = (uint8_t)(pixel >> 16), out[1] = (uint8_t)(pixel >> 8), out[2] = (uint8_t)pixel;
        }
}

WmStatus env_reset(WmEnv *env, uint8_t *rgb, WmError *err) {
    env->env_steps = 0;
    if (env->remote) {
        WmRemoteReply reply;
        return env_remote_reset(env->remote, rng_below(&env->rng, UINT32_MAX), rgb, WM_ENV_SIZE, WM_ENV_SIZE, &reply,
                                err);
    }
    memset(env->state, 0, sizeof env->state);
    if (env->spec->reset) {
        env->spec->reset(env->state, &env->rng);
        if (env->physics) to_physics(env);
    } else {
        physics_randomize(env->physics, &env->rng, &env->spec->mujoco_start);
        physics_sensors(env->physics, env->state);
    }
    render(env, rgb);
    return WM_OK;
}

/* Classic RK4 on the task's ODE, then its limits. */
static void integrate(const WmEnvSpec *spec, double *state, const float *action, double dt) {
    double k[4][WM_ENV_STATE_MAX], probe[WM_ENV_STATE_MAX];
    int n = spec->state_dim;
    static const double STAGE[3] = {0.5, 0.5, 1.0};
    spec->derivative(state, action, k[0]);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < n; i++) probe[i] = state[i] + STAGE[s] * dt * k[s][i];
        spec->derivative(probe, action, k[s + 1]);
    }
    for (int i = 0; i < n; i++) state[i] += dt / 6.0 * (k[0][i] + 2.0 * k[1][i] + 2.0 * k[2][i] + k[3][i]);
    if (spec->limit) spec->limit(state);
}

WmStatus env_step(WmEnv *env, const float *action, uint8_t *rgb, WmEnvStep *step, WmError *err) {
    if (env->remote) {
        WmRemoteReply reply;
        if (env_remote_step(env->remote, action, rgb, WM_ENV_SIZE, WM_ENV_SIZE, &reply, err)) return err->status;
        env->env_steps++;
        *step = (WmEnvStep){reply.reward, reply.last, reply.terminal};
        return WM_OK;
    }
    const WmEnvSpec *spec = env->spec;
    float clipped[WM_ENV_ACTION_MAX];
    for (int a = 0; a < spec->action_dim; a++) {
        float v = action[a];
        clipped[a] = isnan(v) ? 0.0f : v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
    }
    double reward = 0.0;
    for (int r = 0; r < env->action_repeat && env->env_steps < WM_ENV_EPISODE_STEPS; r++) {
        if (env->physics) physics_advance(env, clipped);
        else
            for (int s = 0; s < spec->substeps; s++) integrate(spec, env->state, clipped, spec->dt / spec->substeps);
        reward += spec->reward(env->state, clipped);
        env->env_steps++;
    }
    *step = (WmEnvStep){reward, env->env_steps >= WM_ENV_EPISODE_STEPS, 0};
    render(env, rgb);
    return WM_OK;
}

double env_reward(const WmEnv *env, const double *state, const float *action) {
    return env->spec->reward(state, action);
}
