/* Offline training of the world model: batches from the replay store, the ELBO step, Adam, and the state a
 * checkpoint must hold to continue bit for bit (parameters, Adam moments, step, the random streams' counters).
 * Random streams, all from run.seed (core/rng.h): the parameters' by tensor name, then batch sampling,
 * dequantisation noise and latent noise. Checkpoints are the run layer's (src/run/checkpoint.h). */
#ifndef WM_TRAIN_TRAINER_H
#define WM_TRAIN_TRAINER_H

#include "config/config.h"
#include "core/comm.h"
#include "data/replay.h"
#include "nets/world_model.h"
#include "optim/adam.h"
#include "core/measured_choice.h"
#include "train/imagine.h"

typedef struct {
    WmConfig config; /* the run's, resolved: what a checkpoint records */
    WmWorldModel model;
    WmAdam adam;
    WmMeasuredPrecision precision;  /* train.precision as resolved (auto: measured) */
    WmReplay replay;
    WmRng sample_rng, dequantize_rng, latent_rng;
    long step;
    WmReplayBatch batch;
    double grad_norm; /* of the last step, before clipping */
    WmImagination *imagination;     /* the actor and value (actor.enabled), or NULL */
    WmImagineLosses imagine_losses; /* of the last step */
    double model_seconds, imagine_seconds; /* wall time in the world model's steps and in imagination, summed */
    WmComm comm; /* the data-parallel job's ranks (trainer_join); rank 0 of 1 alone */
} WmTrainer;

/* Every WM_SYNC_CHECK_EVERY steps the ranks of a job compare a checksum of their parameters. */
enum { WM_SYNC_CHECK_EVERY = 100 };

/* Creates the model for the config, initialises its parameters from run.seed and prepares a replay store of
 * data.replay_capacity frames. */
WmStatus trainer_create(WmTrainer *trainer, const WmConfig *config, int action_dim, int state_dim, WmError *err);
void trainer_free(WmTrainer *trainer);

/* Makes the trainer one rank of a data-parallel job, before its first step: its random streams become the rank's
 * own (rng_stream_for_rank; rank 0's are unchanged), and each step averages the gradients and the reported losses
 * over the ranks (one allreduce over the flat gradient block) before the identical clip and Adam update. */
void trainer_join(WmTrainer *trainer, const WmComm *comm);

/* A 64-bit checksum of every parameter value (the world model's, and the actor's and value's). */
uint64_t trainer_params_checksum(const WmTrainer *trainer);

/* One gradient step of the world model; with the actor, then one imagination update from the batch's posterior
 * states (the world model's update is the same either way). A non-finite loss term or gradient norm stops with
 * WM_ERR_NUMERIC naming the term and the step, before any parameter changes. */
WmStatus trainer_step(WmTrainer *trainer, WmLosses *losses, WmError *err);
/* The same step on inputs already in trainer->model.input (images, actions, rewards, continues and noise, as a
 * test sets them): nothing is sampled or drawn. */
WmStatus trainer_step_on_input(WmTrainer *trainer, WmLosses *losses, WmError *err);

#endif
