/* A build without MuJoCo: the dmc- environments exist by name and say what to install. */
#include <stddef.h>

#include "data/physics.h"

struct WmPhysics {
    int unused;
};

int physics_available(void) { return 0; }
const char *physics_model_text(const char *name) {
    (void)name;
    return NULL;
}

WmStatus physics_open(WmPhysics **physics, const char *task, const char *model, double dt, int actions, int size,
                      WmError *err) {
    (void)model, (void)dt, (void)actions, (void)size;
    *physics = NULL;
    return wm_error_set(err, WM_ERR_ARG, "%s runs on MuJoCo, which this build lacks: install libmujoco-dev and "
                        "libosmesa6-dev (tools/deps.sh does) and rebuild", task);
}

void physics_close(WmPhysics *physics) { (void)physics; }
int physics_state_dim(const WmPhysics *physics) {
    (void)physics;
    return 0;
}
void physics_set_state(WmPhysics *physics, const double *state) { (void)physics, (void)state; }
void physics_step(WmPhysics *physics, const float *action, double *state) { (void)physics, (void)action, (void)state; }
void physics_render(WmPhysics *physics, uint8_t *rgb) { (void)physics, (void)rgb; }
void physics_randomize(WmPhysics *physics, WmRng *rng, const WmPhysicsStart *start) {
    (void)physics, (void)rng, (void)start;
}
int physics_sensor_dim(const WmPhysics *physics) {
    (void)physics;
    return 0;
}
void physics_sensors(const WmPhysics *physics, double *out) { (void)physics, (void)out; }
