/* The online loop's state, shared by its two forms: online.c (PlaNet's rounds: train, then collect an episode) and
 * online_async.c (DayDreamer's: an actor thread collects at the environment's pace while the learner trains). */
#ifndef WM_RUN_ONLINE_H
#define WM_RUN_ONLINE_H

#include <stdio.h>

#include "data/env.h"
#include "plan/agent.h"
#include "run/precision.h"
#include "run/run_dir.h"
#include "run/train_run.h"
#include "train/trainer.h"

typedef struct {
    WmEnv env, eval_env;
    WmRng explore;
    long episodes; /* how many this rank's episode directory holds */
    long policy_frames; /* frames of this rank's episodes after the seed episodes (online.train_ratio counts them) */
    long env_steps;     /* environment steps of this rank's episodes, action repeat counted (online.eval_steps) */
    int made_env, made_eval_env;
    const WmComm *comm;
    char episodes_dir[WM_RUN_PATH_MAX + 32]; /* R/episodes; rank r > 0 of a data-parallel job: R/episodes-rank<r> */
    const WmRunPaths *paths;
    const WmTrainOptions *options;
    const WmConfig *config;
    const WmTrainObserver *observer;
    WmTrainer *trainer; /* once made */
    WmAgent *agent;
    int made_trainer, made_agent;
    FILE *metrics; /* rank 0's */
    WmRunPrecision precision;
} WmOnline;

/* The counts the loop paces itself by, for the index-th episode of `frames` frames (the first is the reset's). */
void online_count_episode(WmOnline *online, long index, int frames);
/* Saves an episode under the rank's episode directory and moves it into the replay store. */
WmStatus online_keep(WmOnline *online, WmTrainer *t, WmEpisode *episode, WmError *err);
/* A checkpoint with every rank's online streams and episode count in its metadata (collective); ctx: WmOnline. */
WmStatus online_save(void *ctx, WmError *err);

/* online.mode async: from a trainer with its seed episodes (or a resumed one) to run.steps or a stop. */
WmStatus online_train_async(WmOnline *online, WmError *err);

#endif
