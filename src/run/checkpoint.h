/* The checkpoint format (safetensors): parameters by module path, Adam moments as optim.m.<name> and
 * optim.v.<name>, optim.step; metadata: the format version, the resolved run config as YAML, the step, the action
 * size, the trainer's random streams, with the actor (actor.enabled) its and the value's parameters, moments
 * and step counts, the slow value's copy as target.<name>, the imagination's stream and update count, and what a
 * loop adds (the online loop's streams and episode count). Every
 * metadata key is named here, once, and every value is parsed strictly: a missing or malformed one is an error
 * naming the file and the key. */
#ifndef WM_RUN_CHECKPOINT_H
#define WM_RUN_CHECKPOINT_H

#include "config/config.h"
#include "core/safetensors.h"
#include "nets/actor.h"
#include "nets/world_model.h"
#include "train/trainer.h"

#define WM_CHECKPOINT_FORMAT "wm-checkpoint-1"

#define WM_META_FORMAT "format"
#define WM_META_CONFIG "config"
#define WM_META_STEP "step"
#define WM_META_ACTION_DIM "action_dim"
#define WM_META_STATE_DIM "state_dim" /* written when the episodes carry states */
#define WM_META_RNG_SAMPLE "rng.sample"
#define WM_META_RNG_DEQUANTIZE "rng.dequantize"
#define WM_META_RNG_LATENT "rng.latent"
#define WM_META_RNG_IMAGINE "rng.imagine"
#define WM_META_ACTOR_UPDATES "actor.updates"
#define WM_META_ACTOR_RETURN_PERCENTILES "actor.return_percentiles" /* "%a %a": the running P5 and P95 */
#define WM_META_ONLINE_ENV "online.env"
#define WM_META_ONLINE_EVAL_ENV "online.eval_env"
#define WM_META_ONLINE_EXPLORE "online.explore"
#define WM_META_ONLINE_AGENT "online.agent"
#define WM_META_ONLINE_OBJECTIVE "online.objective"
#define WM_META_ONLINE_EPISODES "online.episodes"
#define WM_META_ONLINE_PROPOSAL "online.proposal"
#define WM_META_ENV "env"   /* the built-in environment the run learned in, when known */
#define WM_META_DATA "data" /* an offline run's dataset directory */
#define WM_META_DATA_FINGERPRINT "data.fingerprint" /* dataset_fingerprint of its episodes, hex */
#define WM_META_VERSION "wm_version"
#define WM_META_RANKS "ranks" /* a data-parallel run's rank count (absent: 1) */
#define WM_META_TRAIN_PRECISION "precision.train" /* fp32 or bf16: how the convolutions trained */
#define WM_META_PLAN_PRECISION "precision.plan"   /* fp32 or bf16: how an online run planned */

/* What a checkpoint says of itself. */
typedef struct {
    long step;
    int action_dim;
    int state_dim; /* 0 when the model takes frames alone */
    WmConfig config; /* the run config it was trained with */
    char env[WM_CONFIG_TEXT_MAX]; /* the environment it learned in ("" when no one knows) */
} WmCheckpointInfo;

/* Writes parameters, Adam moments, the trainer's metadata and `extra` entries (may be NULL) to `path`, through a
 * temporary name (safetensors_write). */
WmStatus checkpoint_save(const WmTrainer *trainer, const char *path, const WmMetaEntry *extra, int extra_count,
                         WmError *err);
/* Restores everything checkpoint_save wrote of the trainer, the streams of its rank (trainer->comm); the file must
 * match the model's tensors and action size, and the job's rank count the run's. */
WmStatus checkpoint_load_trainer(WmTrainer *trainer, const char *path, WmError *err);

/* The format, step, action size and config of an open checkpoint. */
WmStatus checkpoint_read_info(const WmSafetensors *file, WmCheckpointInfo *info, WmError *err);
/* A model that loads itself: creates the model the checkpoint's config describes and copies its parameters, and
 * nothing else (no Adam moments, no replay, no training buffers; world_model_build is the caller's). `info` (may
 * be NULL) receives what the checkpoint says of itself. */
WmStatus checkpoint_load_model(WmWorldModel *model, const char *path, WmCheckpointInfo *info, WmError *err);

/* The actor and the value (either may be NULL), for acting: created from the checkpoint's config, their values
 * copied. A run trained without the actor is refused with one line saying so. */
WmStatus checkpoint_load_policy(const char *path, WmActor *actor, WmValue *value, WmError *err);

/* A data-parallel run keeps one checkpoint, written by rank 0: rank 0's streams under their own keys, rank r's
 * under "rank<r>.<key>". `out` receives the key a rank reads and writes. */
void checkpoint_rank_key(char *out, size_t size, const char *key, int rank);

enum { WM_TRAINER_STREAMS_MAX = 4, WM_META_TEXT_MAX = 96 };
/* The trainer's own random streams (and the actor's update count) as metadata entries; their texts live in
 * `texts`. Returns how many. */
int checkpoint_trainer_streams(const WmTrainer *trainer, WmMetaEntry *entries,
                               char texts[][WM_META_TEXT_MAX]);

/* A random stream's state as metadata text ("seed stream counter") and back. */
void checkpoint_rng_format(char *out, size_t size, const WmRng *rng);
WmStatus checkpoint_rng_read(const WmSafetensors *file, const char *key, WmRng *rng, WmError *err);
/* A whole number in [lo, hi], decimal, nothing after it. */
WmStatus checkpoint_meta_long(const WmSafetensors *file, const char *key, long lo, long hi, long *value,
                              WmError *err);

#endif
