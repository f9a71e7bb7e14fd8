/* The resolved configuration of a run: one table (config.c) declares every key with its type, bounds, default
 * and help; configs/default.yaml repeats the defaults for people to read (a test keeps the two equal). Layers
 * apply in order: defaults, a YAML file, then `--set section.key=value`. An unknown key or a value out of range is
 * an error naming the key (and the file and line). */
#ifndef WM_CONFIG_CONFIG_H
#define WM_CONFIG_CONFIG_H

#include <stdio.h>

#include "core/error.h"

#define WM_CONFIG_LIST_MAX 8
#define WM_CONFIG_TEXT_MAX 512 /* a text value (data.env may be an exec: command line) */
#define WM_CONFIG_VALUE_MAX (2 * WM_CONFIG_TEXT_MAX + 8) /* any value as YAML text, quoted and escaped */

typedef struct {
    int count;
    int values[WM_CONFIG_LIST_MAX];
} WmIntList;

/* Word-valued keys, parsed once where each key is declared (config.c's table lists its words and their values):
 * nothing outside src/config compares a config word. */
typedef enum { WM_ACTIVATION_RELU, WM_ACTIVATION_ELU, WM_ACTIVATION_SILU } WmActivationChoice;
/* model.norm, actor.norm: DreamerV3's LayerNorm in the dense hidden layers, or none. */
typedef enum { WM_NORM_NONE, WM_NORM_LAYER } WmNormChoice;
typedef enum { WM_PRECISION_AUTO, WM_PRECISION_FP32, WM_PRECISION_BF16 } WmPrecisionChoice;
/* plan.planner; WM_PLAN_ACTOR is no search: the agent acts with the amortized actor instead. */
typedef enum { WM_PLAN_SHOOTING, WM_PLAN_CEM, WM_PLAN_MPPI, WM_PLAN_ACTOR } WmPlanKind;
typedef enum { WM_PROPAGATION_EACH, WM_PROPAGATION_RANDOM } WmPropagationChoice;
typedef enum { WM_ACTOR_MODE_MEAN, WM_ACTOR_MODE_DENSITY, WM_ACTOR_MODE_SAMPLE } WmActorModeChoice;
typedef enum { WM_GRADIENT_DYNAMICS, WM_GRADIENT_REINFORCE } WmGradientChoice;
/* online.mode: collect between rounds of training, or act in a thread of its own while the learner trains. */
typedef enum { WM_ONLINE_SYNC, WM_ONLINE_ASYNC } WmOnlineMode;
/* actor.distribution: the policy over continuous actions (ops/action_dist.h). */
typedef enum { WM_ACTION_TANH_NORMAL, WM_ACTION_BOUNDED_NORMAL } WmActionDistChoice;
/* model.latent: the stochastic state's distribution (nets/latent.h). */
typedef enum { WM_LATENT_GAUSSIAN, WM_LATENT_CATEGORICAL } WmLatentChoice;
/* model.action_input: where the action meets the RSSM (nets/rssm.h). */
typedef enum { WM_ACTION_INPUT_JOINT, WM_ACTION_INPUT_SEPARATE } WmActionInputChoice;
/* model.reward_head, actor.value_head: how a head's output is read as a number (nets/regression.h). */
typedef enum { WM_REGRESSION_GAUSSIAN, WM_REGRESSION_TWOHOT } WmRegressionChoice;

/* The networks' sizes (the config's model section). */
typedef struct {
    long depth;                /* encoder channels d, 2d, 4d, 8d; decoder 4d, 2d, d */
    WmIntList encoder_kernels; /* stride 2 each */
    WmIntList decoder_kernels;
    long deter, stoch, hidden; /* D, the stochastic state's Gaussians or categoricals, the RSSM's dense units */
    WmActionInputChoice action_input; /* [z, a] in one layer, or the action in a layer of its own (DreamerV3) */
    WmLatentChoice latent;     /* gaussian (PlaNet) or categorical (DreamerV3) */
    long classes;              /* each categorical's classes: the state is stoch x classes one-hot floats */
    double unimix;             /* the uniform share mixed into every categorical */
    double min_std;
    long ensemble; /* K prior members; 1 is no ensemble */
    long reward_layers, reward_units;
    WmRegressionChoice reward_head; /* gaussian (PlaNet) or twohot (DreamerV3) */
    WmActivationChoice activation;
    WmNormChoice norm; /* the dense hidden layers' (the RSSM's input and heads, the reward and continue heads) */
    int continue_head; /* predict whether the episode goes on (trained on is_terminal); discounts imagination */
} WmModelSection;

/* The ELBO's terms and weights (the config's loss section). */
typedef struct {
    double free_nats, kl_scale;
    int kl_balancing;  /* Dreamer V2: prior trained toward the posterior faster */
    double kl_balance; /* the prior's share of the KL gradient when balancing */
    double kl_dyn, kl_rep; /* DreamerV3: KL(sg(q) || p) and KL(q || sg(p)), each clipped below free_bits */
    double free_bits;
    double reward_scale;
    long overshooting; /* PlaNet's latent overshooting distance; 0 is off */
    double overshooting_scale;
    int overshooting_stop_gradient; /* PlaNet: the posterior is the fixed target of the open-loop priors */
} WmLossSection;

/* Dreamer's actor and value, and their imagination (the config's actor section): what nets/actor.h builds from. */
typedef struct {
    int enabled;                          /* train Dreamer's actor and value in imagination */
    long layers, units;                   /* the actor's hidden layers (Dreamer V1: 4 x 400) */
    long value_layers, value_units;       /* the value's (3 x 400) */
    WmRegressionChoice value_head;        /* gaussian (a squared error) or twohot (DreamerV3) */
    WmActivationChoice activation;        /* elu, relu or silu */
    WmNormChoice norm;                    /* the actor's and value's hidden layers */
    double learning_rate, value_learning_rate, eps, clip_norm;
    long horizon;                         /* imagined steps from every posterior state */
    long imagine_last;                    /* imagine from each sequence's last K posterior states; 0: from all */
    double gamma, lambda;                 /* the lambda-return's discount and mixing */
    double entropy_scale;                 /* weight of the policy's entropy in the actor's objective */
    WmGradientChoice gradient;            /* dynamics (Dreamer V1) or reinforce (V2/V3) */
    int return_normalization;             /* the return term over max(1, running 5-95% range) (DreamerV3) */
    int slow_target;                      /* returns from a slowly updated copy of the value */
    long target_every;                    /* updates between refreshes of the slow value */
    double slow_mix;                      /* each refresh moves the slow value this share of the way (1: a copy) */
    double slow_regularizer;              /* weight of the value's pull toward the slow value (DreamerV3: 1) */
    double replay_value;                  /* weight of the value's loss on the replayed starts (DreamerV3: 0.3) */
    WmActionDistChoice distribution;      /* tanh_normal (Dreamer) or bounded_normal (DreamerV3) */
    double init_std, mean_scale;          /* the tanh-Normal's shape */
    double min_std, max_std;              /* the std's floor (both), and the bounded Normal's ceiling */
    double variance_penalty;              /* lambda x the ensemble members' reward variance, per imagined step */
} WmActorSection;

typedef struct {
    struct {
        long seed;
        long steps;            /* total gradient steps of the run */
        long log_every;        /* steps between metrics.jsonl lines */
        long checkpoint_every; /* steps between checkpoints */
        long keep_checkpoints; /* step_N files kept besides latest; 0 keeps all */
    } run;
    struct {
        char env[WM_CONFIG_TEXT_MAX]; /* the environment of the online loop and evaluation (built-in or remote) */
        long height, width;
        long action_repeat; /* 0: the task's default */
        long replay_capacity; /* frames */
        long batch, length;   /* B, L */
        long bit_depth;       /* PlaNet's 5-bit quantisation; 8 keeps every bit */
        int dequantize;       /* add uniform noise of one quantisation step */
        long holdout_episodes; /* the last episodes of an offline dataset, kept out of training for evaluation */
    } data;
    WmModelSection model;
    WmLossSection loss;
    struct {
        double learning_rate, eps, beta1, beta2, clip_norm;
        double agc; /* adaptive clipping per tensor (DreamerV3: 0.3); 0: off */
    } optim;
    struct {
        WmPrecisionChoice precision; /* fp32, bf16 (the convolutions read bf16, sum in f32), or auto: measured */
    } train;
    struct {
        long seed_episodes;      /* random-policy episodes before the first gradient step */
        long steps_per_episode;  /* gradient steps between collected episodes (PlaNet: 100) */
        double train_ratio;      /* replayed steps (B x L) per collected step; 0: steps_per_episode instead */
        double exploration_noise; /* std of the Gaussian noise added to the planner's actions */
        long eval_every;         /* collected episodes between evaluations without noise */
        long eval_steps;         /* environment steps between evaluations; 0: eval_every instead */
        long eval_episodes;      /* episodes per evaluation (their mean and std are logged) */
        int eval_samples;        /* the actor's samples evaluated too, beside its mode (DreamerV3 evaluates samples) */
        double env_timeout;      /* seconds to wait for an exec: or tcp: environment's answer */
        WmOnlineMode mode;       /* sync (PlaNet's rounds) or async (DayDreamer's actor and learner) */
        long sync_every;         /* async: environment steps between the actor's copies of the newest weights */
        double min_train_ratio;  /* async: below this replay ratio the learner is behind, and the metrics say so */
    } online;
    struct {
        WmPlanKind planner; /* shooting, cem, mppi or actor */
        long horizon, iterations, candidates, top_k;
        double init_std;    /* CEM's starting std */
        double mppi_lambda; /* MPPI's temperature */
        double mppi_std;    /* MPPI's sampling noise */
        double variance_penalty; /* lambda_var: the score is mean - lambda_var x variance over the ensemble */
        WmPropagationChoice propagation; /* each: member k all the way; random: a random member per step */
        WmPrecisionChoice precision;     /* fp32, bf16, or auto: the faster here, measured */
        long actor_candidates; /* candidates per iteration from the actor's rollouts (needs the actor) */
        int value_bootstrap;   /* end every candidate's return with gamma^(H-1) v(s_H) in place of r_H */
        WmActorModeChoice actor_mode; /* how --planner actor acts when not exploring: mean, density or sample */
    } plan;
    WmActorSection actor;
} WmConfig;

/* What a world model needs to know of a run's config, and nothing more: the image it sees, its sizes and its
 * objective. A model loaded to act keeps only this. */
typedef struct {
    long height, width; /* H, W */
    long bit_depth;
    /* The state vector's floats beside each frame: the data's (its episodes' `state`), not a config key, set by
     * whoever builds the model from data or a checkpoint; 0 when frames come alone. */
    long state_dim;
    WmModelSection net;
    WmLossSection loss;
} WmModelConfig;

WmModelConfig model_config_from(const WmConfig *config);
/* The relations a model's sizes must hold (the decoder reaches the image size, the encoder has an output). */
WmStatus model_config_validate(const WmModelConfig *config, WmError *err);

/* Every key at its default. */
void config_defaults(WmConfig *config);
/* Applies one "section.key" = text; `where` prefixes errors (a file:line, or "--set"). */
WmStatus config_set(WmConfig *config, const char *key, const char *text, const char *where, WmError *err);
/* Applies "section.key=value". */
WmStatus config_set_assignment(WmConfig *config, const char *assignment, WmError *err);
/* Applies a YAML file: a mapping of sections to mappings of scalars (lists as flow sequences). */
WmStatus config_load_yaml(WmConfig *config, const char *path, WmError *err);
/* The same from text in memory; `where` names it in errors (e.g. a checkpoint's path and metadata key). */
WmStatus config_load_yaml_text(WmConfig *config, const char *text, const char *where, WmError *err);
/* Checks relations between keys (e.g. the decoder reaches the image size). */
WmStatus config_validate(const WmConfig *config, WmError *err);
/* Writes every key, by section, as YAML that config_load_yaml reads back to the same config. */
void config_write_yaml(const WmConfig *config, FILE *out);
/* The same YAML in a malloc'd string (for checkpoint metadata). */
char *config_to_yaml_string(const WmConfig *config);

/* Writes "key: a vs b" for every key whose value differs between a and b and whose name starts with one of
 * `prefixes` (NULL-terminated; "model." or "data.height"), joined by ", ", into out; returns how many differ. */
int config_differences(const WmConfig *a, const WmConfig *b, const char *const *prefixes, char *out, size_t size);

/* For tests and `--help`: the declared keys. */
int config_key_count(void);
const char *config_key_name(int index);
const char *config_key_help(int index);
/* A word-valued key's k-th word, or NULL past the last (and for a key of another type). */
const char *config_key_choice(int index, int k);
/* A word-valued key's value for `word`, or -1 when the key does not take it (or is not word-valued). */
int config_choice_value(const char *key, const char *word);
/* The word of a word-valued key's value ("?" for none). */
const char *config_choice_word(const char *key, int value);
const char *config_key_default(int index);
/* What values the key takes: "integer in [1, 4096]", "one of shooting, cem, mppi, actor", ... */
void config_key_range(int index, char *out, size_t size);

#endif
