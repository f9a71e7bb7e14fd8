/* A dataset is a directory of episodes of either kind: subdirectories holding steps.csv, and .npz files. */
#ifndef WM_DATA_DATASET_H
#define WM_DATA_DATASET_H

#include "data/episode.h"

/* Paths of the episodes in dir, sorted; temporary leftovers (*.tmp) are not episodes. Free with fs_free_list. */
WmStatus dataset_list(const char *dir, char ***paths, int *count, WmError *err);

typedef struct {
    WmEpisode *episodes;
    int count;
    int skipped; /* bad episodes passed over (skip_bad) */
    int listed;  /* episodes in the directory, before a share was taken */
} WmDataset;

/* Reads every episode. A bad episode stops the read with a message listing the bad ones, unless skip_bad, which
 * passes them over and counts them. An empty dataset is an error. */
WmStatus dataset_read(const char *dir, WmFrameSize *size, int skip_bad, WmDataset *dataset, WmError *err);

/* One rank's share of a dataset split between `ranks` readers: of the episodes in sorted order, the last
 * `holdout` are held out and go to rank 0 alone (after its training share); the others go round-robin, episode i
 * to rank i mod ranks. Each rank reads only its own files. A share with no training episode is an error. */
typedef struct {
    int rank, ranks, holdout;
} WmDatasetShare;
WmStatus dataset_read_share(const char *dir, WmFrameSize *size, int skip_bad, const WmDatasetShare *share,
                            WmDataset *dataset, WmError *err);
void dataset_free(WmDataset *dataset);

/* A 64-bit FNV-1a fingerprint of every episode's frames, actions and rewards, in order: two datasets with the same
 * fingerprint hold the same data. */
uint64_t dataset_fingerprint(const WmDataset *dataset);

/* DIR/environment.txt names the built-in environment wm collect recorded the episodes from, so a model trained on
 * them knows its task, and, per seed it collected with, where that seed's random streams (the environment's and
 * the policy's) left off, so collecting again continues them instead of repeating episodes:
 *   cartpole-swingup
 *   seed 0 env 7560 policy 250
 * Writing refuses a directory that already names another environment; reading gives "" and zeros when the
 * dataset does not say. */
#define WM_DATASET_ENV_FILE "environment.txt"
void dataset_read_env(const char *dir, char *env, size_t size);
void dataset_read_streams(const char *dir, uint64_t seed, uint64_t *env_counter, uint64_t *policy_counter);
/* Records the environment and where `seed`'s streams are now (env_counter, policy_counter). */
WmStatus dataset_write_env(const char *dir, const char *env, uint64_t seed, uint64_t env_counter,
                           uint64_t policy_counter, WmError *err);

#endif
