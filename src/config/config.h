/* The resolved configuration of a run: one table (config.c) declares every key with its type, bounds, default
 * and help; configs/default.yaml repeats the defaults for people to read (a test keeps the two equal). Layers
 * apply in order: defaults, a YAML file, then `--set section.key=value`. An unknown key or a value out of range is
 * an error naming the key (and the file and line). */
#ifndef WM_CONFIG_CONFIG_H
#define WM_CONFIG_CONFIG_H

#include <stdio.h>

#include "core/error.h"

#define WM_CONFIG_LIST_MAX 8
#define WM_CONFIG_TEXT_MAX 64

typedef struct {
    int count;
    int values[WM_CONFIG_LIST_MAX];
} WmIntList;

typedef struct {
    struct {
        long seed;
        long steps;            /* total gradient steps of the run */
        long log_every;        /* steps between metrics.jsonl lines */
        long checkpoint_every; /* steps between checkpoints */
        long keep_checkpoints; /* step_N files kept besides latest; 0 keeps all */
    } run;
    struct {
        char env[WM_CONFIG_TEXT_MAX]; /* a built-in environment, for the online loop and evaluation */
        long height, width;
        long action_repeat; /* 0: the task's default */
        long replay_capacity; /* frames */
        long batch, length;   /* B, L */
        long bit_depth;       /* PlaNet's 5-bit quantisation; 8 keeps every bit */
        int dequantize;       /* add uniform noise of one quantisation step */
        long holdout_episodes; /* the last episodes of an offline dataset, kept out of training for evaluation */
    } data;
    struct {
        long depth;                /* encoder channels d, 2d, 4d, 8d; decoder 4d, 2d, d */
        WmIntList encoder_kernels; /* stride 2 each */
        WmIntList decoder_kernels;
        long deter, stoch, hidden; /* D, S, the RSSM's dense width */
        double min_std;
        long ensemble; /* K prior heads; 1 is no ensemble */
        long reward_layers, reward_units;
        char activation[WM_CONFIG_TEXT_MAX];
    } model;
    struct {
        double free_nats, kl_scale;
        int kl_balancing;  /* Dreamer V2: prior trained toward the posterior faster */
        double kl_balance; /* the prior's share of the KL gradient when balancing */
        double reward_scale;
        long overshooting; /* PlaNet's latent overshooting distance D; 0 is off */
        double overshooting_scale;
        int overshooting_stop_gradient; /* PlaNet: the posterior is the fixed target of the open-loop priors */
    } loss;
    struct {
        double learning_rate, eps, beta1, beta2, clip_norm;
    } optim;
    struct {
        long seed_episodes;      /* random-policy episodes before the first gradient step */
        long steps_per_episode;  /* gradient steps between collected episodes (PlaNet: 100) */
        double exploration_noise; /* std of the Gaussian noise added to the planner's actions */
        long eval_every;         /* collected episodes between evaluations without noise */
    } online;
    struct {
        char planner[WM_CONFIG_TEXT_MAX]; /* shooting, cem or mppi */
        long horizon, iterations, candidates, top_k;
        double init_std;    /* CEM's starting std */
        double mppi_lambda; /* MPPI's temperature */
        double mppi_std;    /* MPPI's sampling noise */
        double variance_penalty; /* lambda_var: the score is mean - lambda_var x variance over the ensemble */
        char propagation[WM_CONFIG_TEXT_MAX]; /* "each": member k all the way; "random": a random member per step */
        char precision[WM_CONFIG_TEXT_MAX];   /* "fp32", "bf16", or "auto": bf16 where the CPU runs it natively */
    } plan;
} WmConfig;

/* Every key at its default. */
void config_defaults(WmConfig *config);
/* Applies one "section.key" = text; `where` prefixes errors (a file:line, or "--set"). */
WmStatus config_set(WmConfig *config, const char *key, const char *text, const char *where, WmError *err);
/* Applies "section.key=value". */
WmStatus config_set_assignment(WmConfig *config, const char *assignment, WmError *err);
/* Applies a YAML file: a mapping of sections to mappings of scalars (lists as flow sequences). */
WmStatus config_load_yaml(WmConfig *config, const char *path, WmError *err);
/* Checks relations between keys (e.g. the decoder reaches the image size). */
WmStatus config_validate(const WmConfig *config, WmError *err);
/* Writes every key, by section, as YAML that config_load_yaml reads back to the same config. */
void config_write_yaml(const WmConfig *config, FILE *out);
/* The same YAML in a malloc'd string (for checkpoint metadata). */
char *config_to_yaml_string(const WmConfig *config);

/* For tests and `--help`: the declared keys. */
int config_key_count(void);
const char *config_key_name(int index);
const char *config_key_help(int index);

#endif
