#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "train/model_inputs.h"
#include "train/train_precision.h"

WmStatus trainer_create(WmTrainer *t, const WmConfig *config, int action_dim, int state_dim, WmError *err) {
    memset(t, 0, sizeof *t);
    t->config = *config;
    const int B = (int)config->data.batch, L = (int)config->data.length;
    WmModelConfig model_config = model_config_from(config);
    model_config.state_dim = state_dim;
    if (world_model_create(&t->model, &model_config, action_dim, err)) return err->status;
    if (train_precision_resolve(&t->model, config->train.precision, B * L, &t->precision, err)) return err->status;
    if (world_model_build(&t->model, B, L, err)) return err->status;
    const uint64_t seed = (uint64_t)config->run.seed;
    world_model_init_params(&t->model, seed);
    t->adam = (WmAdam){(float)config->optim.learning_rate, (float)config->optim.beta1, (float)config->optim.beta2,
                       (float)config->optim.eps, (float)config->optim.clip_norm, 0, (float)config->optim.agc};
    t->sample_rng = rng_stream(seed, WM_STREAM_SAMPLE);
    t->dequantize_rng = rng_stream(seed, WM_STREAM_DEQUANTIZE);
    t->latent_rng = rng_stream(seed, WM_STREAM_LATENT);
    t->comm = comm_single();
    replay_init(&t->replay, config->data.replay_capacity);
    if (config->actor.enabled) {
        t->imagination = calloc(1, sizeof *t->imagination);
        if (t->imagination == NULL) return wm_error_set(err, WM_ERR_NOMEM, "trainer: out of memory");
        if (imagine_create(t->imagination, config, &t->model, imagine_starts(config, B, L), err)) return err->status;
    }
    return replay_batch_alloc(&t->batch, B, L, (int)config->data.height, (int)config->data.width, action_dim, state_dim,
                              err);
}

void trainer_free(WmTrainer *t) {
    world_model_free(&t->model);
    replay_free(&t->replay);
    replay_batch_free(&t->batch);
    if (t->imagination) imagine_free(t->imagination);
    free(t->imagination);
    memset(t, 0, sizeof *t);
}

void trainer_join(WmTrainer *t, const WmComm *comm) {
    t->comm = *comm;
    const uint64_t seed = (uint64_t)t->config.run.seed;
    t->sample_rng = rng_stream_for_rank(seed, WM_STREAM_SAMPLE, comm->rank);
    t->dequantize_rng = rng_stream_for_rank(seed, WM_STREAM_DEQUANTIZE, comm->rank);
    t->latent_rng = rng_stream_for_rank(seed, WM_STREAM_LATENT, comm->rank);
    if (t->imagination) {
        t->imagination->rng = rng_stream_for_rank(seed, WM_STREAM_IMAGINE, comm->rank);
        t->imagination->comm = &t->comm;
    }
}

uint64_t trainer_params_checksum(const WmTrainer *t) {
    uint64_t hash = hash_fnv1a(WM_FNV1A_START, t->model.params.value, t->model.params.total * sizeof(float));
    if (t->imagination) {
        const WmImagination *im = t->imagination;
        hash = hash_fnv1a(hash, im->actor.params.value, im->actor.params.total * sizeof(float));
        hash = hash_fnv1a(hash, im->value.params.value, im->value.params.total * sizeof(float));
    }
    return hash;
}

/* The job's gradient and losses: each rank's mean over its own B sequences, averaged. */
static WmStatus average_over_ranks(WmTrainer *t, WmLosses *l, WmError *err) {
    double terms[9] = {l->loss,      l->image_nll, l->reward_nll,   l->kl,       l->overshoot_kl,
                       l->ensemble_kl, l->image_mse, l->continue_nll, l->state_nll};
    if (comm_average_floats(&t->comm, t->model.params.grad, t->model.params.total, err) ||
        comm_average_doubles(&t->comm, terms, 9, err))
        return err->status;
    *l = (WmLosses){terms[0], terms[1], terms[2], terms[3], terms[4], terms[5], terms[6], terms[7], terms[8]};
    return WM_OK;
}

static WmStatus check_in_step(const WmTrainer *t, WmError *err) {
    int same = 1;
    if (comm_same(&t->comm, trainer_params_checksum(t), &same, err)) return err->status;
    if (!same)
        return wm_error_set(err, WM_ERR_NUMERIC, "step %ld: the %d ranks' parameters differ (checksums disagree); "
                            "the job stops", t->step, t->comm.size);
    return WM_OK;
}

static WmStatus require_finite_losses(const WmLosses *l, long step, WmError *err) {
    const struct {
        const char *name;
        double value;
    } terms[] = {{"image_nll", l->image_nll},       {"reward_nll", l->reward_nll}, {"kl", l->kl},
                 {"overshoot_kl", l->overshoot_kl}, {"ensemble_kl", l->ensemble_kl},
                 {"continue_nll", l->continue_nll}, {"state_nll", l->state_nll}, {"loss", l->loss}};
    char what[64];
    for (size_t i = 0; i < sizeof terms / sizeof terms[0] && err->status == WM_OK; i++) {
        snprintf(what, sizeof what, "loss term '%s'", terms[i].name);
        wm_require_finite(terms[i].value, "step", step, what, err);
    }
    return err->status;
}

/* Everything after the inputs are in place: the ELBO step, the ranks' average, Adam, then imagination. */
static WmStatus step_on_input(WmTrainer *t, WmLosses *losses, double start, WmError *err) {
    WmWorldModel *m = &t->model;
    params_zero_grad(&m->params);
    if (elbo_forward(m, losses, err) || elbo_backward(m, err) || require_finite_losses(losses, t->step, err)) return err->status;
    if (t->comm.size > 1 && average_over_ranks(t, losses, err)) return err->status;
    t->grad_norm = adam_step(&t->adam, &m->params);
    if (wm_require_finite(t->grad_norm, "step", t->step, "the gradient norm", err)) return err->status;
    const double model_done = wm_clock_seconds();
    t->model_seconds += model_done - start;
    /* From the batch's posterior states, detached: the trace still holds them. */
    if (t->imagination && imagine_update_from_trace(t->imagination, m, &t->imagine_losses, err)) return err->status;
    t->imagine_seconds += wm_clock_seconds() - model_done;
    t->step++;
    if (t->comm.size > 1 && t->step % WM_SYNC_CHECK_EVERY == 0 && check_in_step(t, err)) return err->status;
    return WM_OK;
}

WmStatus trainer_step(WmTrainer *t, WmLosses *losses, WmError *err) {
    WmWorldModel *m = &t->model;
    const double start = wm_clock_seconds();
    if (replay_sample(&t->replay, &t->sample_rng, &t->batch, err)) return err->status;
    model_inputs_load(m, &t->batch, t->config.data.dequantize ? &t->dequantize_rng : NULL);
    rng_fill_normal(&t->latent_rng, m->input.noise, (size_t)t->batch.batch * t->batch.length * m->rssm.stoch, 0.0f,
                    1.0f);
    if (m->input.overshoot_noise)
        rng_fill_normal(&t->latent_rng, m->input.overshoot_noise, world_model_overshoot_noise_floats(m), 0.0f, 1.0f);
    return step_on_input(t, losses, start, err);
}

WmStatus trainer_step_on_input(WmTrainer *t, WmLosses *losses, WmError *err) {
    return step_on_input(t, losses, wm_clock_seconds(), err);
}
