/* MuJoCo 2.2 simulating, OSMesa rendering offscreen (software GL: no display, the same pixels on every run). */
#include <GL/osmesa.h>
#include <math.h>
#include <mujoco/mujoco.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/physics.h"

struct WmPhysics {
    mjModel *model;
    mjData *data;
    OSMesaContext gl;
    unsigned char *buffer; /* OSMesa's colour buffer, RGBA */
    uint8_t *pixels;       /* mjr_readPixels' RGB, rows bottom to top */
    int size;
    mjvScene scene;
    mjvCamera camera;
    mjvOption option;
    mjrContext context;
    int made_scene, made_context;
};

int physics_available(void) { return 1; }

static WmStatus fail(WmPhysics *p, WmError *err, const char *task, const char *what) {
    physics_close(p);
    return wm_error_set(err, WM_ERR_FORMAT, "%s: %s", task, what);
}

WmStatus physics_open(WmPhysics **out, const char *task, const char *model, double dt, int actions, int size,
                      WmError *err) {
    *out = NULL;
    const char *text = physics_model_text(model);
    if (text == NULL) return wm_error_set(err, WM_ERR_ARG, "%s: no model %s is built in", task, model);
    WmPhysics *p = calloc(1, sizeof *p);
    if (p == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", task);
    p->size = size;
    /* MuJoCo reads the model from a virtual file holding the built-in text. */
    mjVFS *vfs = malloc(sizeof *vfs);
    char message[512] = "";
    if (vfs == NULL) return fail(p, err, task, "out of memory");
    mj_defaultVFS(vfs);
    const int bytes = (int)strlen(text);
    if (mj_makeEmptyFileVFS(vfs, model, bytes) == 0) {
        memcpy(vfs->filedata[vfs->nfile - 1], text, (size_t)bytes);
        p->model = mj_loadXML(model, vfs, message, sizeof message);
    }
    mj_deleteVFS(vfs);
    free(vfs);
    if (p->model == NULL) {
        char what[600];
        snprintf(what, sizeof what, "MuJoCo cannot load %s: %s", model, message);
        return fail(p, err, task, what);
    }
    const int camera = 0;
    if (fabs(p->model->opt.timestep - dt) > 1e-12 || p->model->nu != actions || p->model->ncam < 1)
        return fail(p, err, task, "the model's timestep, actuators or camera are not the task's");
    p->data = mj_makeData(p->model);
    p->buffer = malloc((size_t)size * size * 4);
    p->pixels = malloc((size_t)size * size * 3);
    p->gl = OSMesaCreateContextExt(OSMESA_RGBA, 24, 8, 0, NULL);
    if (!p->data || !p->buffer || !p->pixels || !p->gl ||
        !OSMesaMakeCurrent(p->gl, p->buffer, GL_UNSIGNED_BYTE, size, size))
        return fail(p, err, task, "cannot create the MuJoCo state or an OSMesa context");
    mjv_defaultScene(&p->scene);
    mjv_defaultCamera(&p->camera);
    mjv_defaultOption(&p->option);
    mjr_defaultContext(&p->context);
    mjv_makeScene(p->model, &p->scene, 200);
    p->made_scene = 1;
    p->model->vis.global.offwidth = size, p->model->vis.global.offheight = size;
    mjr_makeContext(p->model, &p->context, mjFONTSCALE_100);
    p->made_context = 1;
    mjr_setBuffer(mjFB_OFFSCREEN, &p->context);
    p->camera.type = mjCAMERA_FIXED, p->camera.fixedcamid = camera;
    mj_forward(p->model, p->data);
    *out = p;
    return WM_OK;
}

void physics_close(WmPhysics *p) {
    if (p == NULL) return;
    if (p->gl && p->buffer) OSMesaMakeCurrent(p->gl, p->buffer, GL_UNSIGNED_BYTE, p->size, p->size);
    if (p->made_context) mjr_freeContext(&p->context);
    if (p->made_scene) mjv_freeScene(&p->scene);
    if (p->gl) OSMesaDestroyContext(p->gl);
    if (p->data) mj_deleteData(p->data);
    if (p->model) mj_deleteModel(p->model);
    free(p->buffer), free(p->pixels), free(p);
}

int physics_state_dim(const WmPhysics *p) { return p->model->nq + p->model->nv; }

void physics_set_state(WmPhysics *p, const double *state) {
    mj_resetData(p->model, p->data);
    memcpy(p->data->qpos, state, (size_t)p->model->nq * sizeof(double));
    memcpy(p->data->qvel, state + p->model->nq, (size_t)p->model->nv * sizeof(double));
    mj_forward(p->model, p->data);
}

void physics_step(WmPhysics *p, const float *action, double *state) {
    for (int i = 0; i < p->model->nu; i++) p->data->ctrl[i] = action[i];
    mj_step(p->model, p->data);
    if (state == NULL) return;
    memcpy(state, p->data->qpos, (size_t)p->model->nq * sizeof(double));
    memcpy(state + p->model->nq, p->data->qvel, (size_t)p->model->nv * sizeof(double));
}

static void draw_start(WmPhysics *p, WmRng *rng, const WmPhysicsStart *start) {
    const mjModel *m = p->model;
    mj_resetData(m, p->data);
    float u;
    for (int i = 0; i < start->joint_count; i++) {
        const int j = mj_name2id(m, mjOBJ_JOINT, start->joints[i].joint);
        if (j < 0) continue; /* the test of each task's start catches a misspelt joint */
        rng_fill_uniform(rng, &u, 1);
        p->data->qpos[m->jnt_qposadr[j]] = start->joints[i].lo + u * (start->joints[i].hi - start->joints[i].lo);
    }
    for (int j = 0; start->joints == NULL && j < m->njnt; j++) {
        const int type = m->jnt_type[j], at = m->jnt_qposadr[j];
        if (type != mjJNT_HINGE && type != mjJNT_SLIDE) continue; /* our models have no free or ball joints */
        if (m->jnt_limited[j]) {
            rng_fill_uniform(rng, &u, 1);
            p->data->qpos[at] = m->jnt_range[2 * j] + u * (m->jnt_range[2 * j + 1] - m->jnt_range[2 * j]);
        } else if (start->rotational && type == mjJNT_HINGE) {
            rng_fill_uniform(rng, &u, 1);
            p->data->qpos[at] = M_PI * (2.0 * u - 1.0);
        }
    }
    mj_forward(m, p->data);
}

void physics_randomize(WmPhysics *p, WmRng *rng, const WmPhysicsStart *start) {
    draw_start(p, rng, start);
    for (int attempt = 1; start->collision_free && p->data->ncon > 0 && attempt < 1000; attempt++)
        draw_start(p, rng, start);
    for (int i = 0; i < start->settle; i++) mj_step(p->model, p->data); /* ctrl is 0 after the reset */
}

int physics_sensor_dim(const WmPhysics *p) { return p->model->nsensordata; }

void physics_sensors(const WmPhysics *p, double *out) {
    memcpy(out, p->data->sensordata, (size_t)p->model->nsensordata * sizeof(double));
}

void physics_render(WmPhysics *p, uint8_t *rgb) {
    const int size = p->size;
    OSMesaMakeCurrent(p->gl, p->buffer, GL_UNSIGNED_BYTE, size, size); /* each environment has its own context */
    mjv_updateScene(p->model, p->data, &p->option, NULL, &p->camera, mjCAT_ALL, &p->scene);
    const mjrRect viewport = {0, 0, size, size};
    mjr_render(viewport, &p->scene, &p->context);
    mjr_readPixels(p->pixels, NULL, viewport, &p->context);
    for (int y = 0; y < size; y++) /* OpenGL's rows run bottom to top */
        memcpy(rgb + (size_t)y * size * 3, p->pixels + (size_t)(size - 1 - y) * size * 3, (size_t)size * 3);
}
