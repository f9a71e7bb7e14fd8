/* The online loop's state beside the trainer: the environment episodes come from, a second one for evaluation,
 * the exploration noise's stream, and how many episodes R/episodes holds. */
#ifndef WM_TOOLS_TRAIN_ONLINE_H
#define WM_TOOLS_TRAIN_ONLINE_H

#include "data/env.h"
#include "plan/agent.h"
#include "train/trainer.h"

typedef struct {
    WmEnv env, eval_env;
    WmRng explore;
    long episodes;
    char episodes_dir[4200];
    int made;
} WmOnline;

WmStatus online_init(WmOnline *online, const char *run, const char *env_name, const WmConfig *config, WmError *err);
void online_free(WmOnline *online);
/* A new run: collects online.seed_episodes random episodes. A resumed one (latest exists): reads R/episodes back
 * into the replay and the streams from the checkpoint. */
WmStatus online_start(WmOnline *online, WmTrainer *trainer, WmAgent *agent, const char *latest, WmError *err);
/* One episode with the planner plus exploration noise, kept and added to the replay. */
WmStatus online_collect(WmOnline *online, WmTrainer *trainer, WmAgent *agent, double *train_return, WmError *err);
/* One episode without noise on the evaluation environment, not kept. */
WmStatus online_evaluate(WmOnline *online, WmAgent *agent, double *eval_return, WmError *err);
/* A checkpoint with the online streams in its metadata. */
WmStatus online_save(const WmOnline *online, const WmTrainer *trainer, const WmAgent *agent, const char *path,
                     WmError *err);

#endif
