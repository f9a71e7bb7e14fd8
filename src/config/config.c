/* The one table of configuration keys, and parsing of values into it. */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* KEY_CHOICE is a word from the key's `choices`, stored as its value (an enum of config.h) in an int. */
typedef enum { KEY_INT, KEY_FLOAT, KEY_BOOL, KEY_TEXT, KEY_LIST, KEY_CHOICE } KeyType;

typedef struct {
    const char *word;
    int value;
} ConfigChoice;

typedef struct {
    const char *name;
    KeyType type;
    size_t offset;
    double lo, hi; /* inclusive bounds of a number, or of each list item */
    const char *default_text;
    const char *help;
    const ConfigChoice *choices; /* KEY_CHOICE: the words it takes, ended by a NULL word */
} ConfigKey;

static const ConfigChoice GRADIENTS[] = {{"dynamics", WM_GRADIENT_DYNAMICS}, {"reinforce", WM_GRADIENT_REINFORCE}, {0}},
                          ACTIVATIONS[] = {{"relu", WM_ACTIVATION_RELU}, {"elu", WM_ACTIVATION_ELU},
                                         {"silu", WM_ACTIVATION_SILU}, {0}},
                          NORMS[] = {{"none", WM_NORM_NONE}, {"layer", WM_NORM_LAYER}, {0}},
                          PLANNERS[] = {{"shooting", WM_PLAN_SHOOTING}, {"cem", WM_PLAN_CEM}, {"mppi", WM_PLAN_MPPI},
                                        {"actor", WM_PLAN_ACTOR}, {0}},
                          PROPAGATIONS[] = {{"each", WM_PROPAGATION_EACH}, {"random", WM_PROPAGATION_RANDOM}, {0}},
                          PRECISIONS[] = {{"auto", WM_PRECISION_AUTO}, {"fp32", WM_PRECISION_FP32},
                                          {"bf16", WM_PRECISION_BF16}, {0}},
                          LATENTS[] = {{"gaussian", WM_LATENT_GAUSSIAN}, {"categorical", WM_LATENT_CATEGORICAL}, {0}},
                          ACTION_INPUTS[] = {{"joint", WM_ACTION_INPUT_JOINT}, {"separate", WM_ACTION_INPUT_SEPARATE},
                                             {0}},
                          REGRESSIONS[] = {{"gaussian", WM_REGRESSION_GAUSSIAN}, {"twohot", WM_REGRESSION_TWOHOT}, {0}},
                          ACTION_DISTS[] = {{"tanh_normal", WM_ACTION_TANH_NORMAL},
                                            {"bounded_normal", WM_ACTION_BOUNDED_NORMAL}, {0}},
                          ONLINE_MODES[] = {{"sync", WM_ONLINE_SYNC}, {"async", WM_ONLINE_ASYNC}, {0}},
                          ACTOR_MODES[] = {{"mean", WM_ACTOR_MODE_MEAN}, {"density", WM_ACTOR_MODE_DENSITY},
                                         {"sample", WM_ACTOR_MODE_SAMPLE}, {0}};

#define AT(field) offsetof(WmConfig, field)
static const ConfigKey KEYS[] = {
    {"run.seed", KEY_INT, AT(run.seed), 0, 4294967295.0, "0", "seeds every random stream of the run", NULL},
    {"run.steps", KEY_INT, AT(run.steps), 1, 1e9, "5000", "total gradient steps (a resumed run stops here too)", NULL},
    {"run.log_every", KEY_INT, AT(run.log_every), 1, 1e9, "10", "steps between lines of metrics.jsonl", NULL},
    {"run.checkpoint_every", KEY_INT, AT(run.checkpoint_every), 1, 1e9, "500", "steps between checkpoints", NULL},
    {"run.keep_checkpoints", KEY_INT, AT(run.keep_checkpoints), 0, 1e9, "0",
     "step_N checkpoints kept besides latest; 0 keeps every one", NULL},
    {"data.env", KEY_TEXT, AT(data.env), 0, 0, "cartpole-swingup", "the online loop's environment: a built-in task, exec:COMMAND or tcp:HOST:PORT", NULL},
    {"data.height", KEY_INT, AT(data.height), 8, 1024, "64", "image height the model sees (frames are resized)", NULL},
    {"data.width", KEY_INT, AT(data.width), 8, 1024, "64", "image width the model sees", NULL},
    {"data.action_repeat", KEY_INT, AT(data.action_repeat), 0, 1000, "0", "0 takes the task's default", NULL},
    {"data.replay_capacity", KEY_INT, AT(data.replay_capacity), 1, 1e9, "1000000", "replay store size in frames", NULL},
    {"data.batch", KEY_INT, AT(data.batch), 1, 4096, "50", "B: sequences per batch", NULL},
    {"data.length", KEY_INT, AT(data.length), 1, 4096, "50", "L: steps per sequence", NULL},
    {"data.bit_depth", KEY_INT, AT(data.bit_depth), 1, 8, "5", "bits kept per colour channel", NULL},
    {"data.dequantize", KEY_BOOL, AT(data.dequantize), 0, 1, "true", "add uniform noise of one quantisation step",
     NULL},
    {"data.holdout_episodes", KEY_INT, AT(data.holdout_episodes), 0, 1e6, "0",
     "last episodes of --data held out of training and evaluated at each log line", NULL},
    {"model.depth", KEY_INT, AT(model.depth), 1, 1024, "32", "convolution channels: d, 2d, 4d, 8d", NULL},
    {"model.encoder_kernels", KEY_LIST, AT(model.encoder_kernels), 1, 16, "[4, 4, 4, 4]",
     "kernel of each encoder convolution (stride 2)", NULL},
    {"model.decoder_kernels", KEY_LIST, AT(model.decoder_kernels), 1, 16, "[5, 5, 6, 6]",
     "kernel of each decoder deconvolution (stride 2, from 1x1 to the image size)", NULL},
    {"model.deter", KEY_INT, AT(model.deter), 1, 8192, "200", "D: deterministic (GRU) state size", NULL},
    {"model.stoch", KEY_INT, AT(model.stoch), 1, 8192, "30",
     "S: the stochastic state's Gaussians, or its categoricals (model.latent)", NULL},
    {"model.latent", KEY_CHOICE, AT(model.latent), 0, 0, "gaussian",
     "the stochastic state: gaussian (PlaNet: stoch Gaussians) or categorical (DreamerV3: stoch one-hot categoricals "
     "of model.classes, straight-through gradients)",
     LATENTS},
    {"model.classes", KEY_INT, AT(model.classes), 2, 1024, "32", "classes of each categorical (model.latent)", NULL},
    {"model.unimix", KEY_FLOAT, AT(model.unimix), 0, 0.99, "0.01",
     "uniform share mixed into each categorical (DreamerV3: 1%)", NULL},
    {"model.hidden", KEY_INT, AT(model.hidden), 1, 8192, "200", "width of the RSSM's dense layers", NULL},
    {"model.action_input", KEY_CHOICE, AT(model.action_input), 0, 0, "joint",
     "joint: one dense layer reads [z, a] (PlaNet, DreamerV3 of 2023); separate: z and the action each through a "
     "dense layer of their own, side by side into the GRU (DreamerV3's RSSM of 2024), so one action float is not "
     "one input among a thousand one-hot ones",
     ACTION_INPUTS},
    {"model.min_std", KEY_FLOAT, AT(model.min_std), 1e-6, 10, "0.1", "floor of the stochastic state's std", NULL},
    {"model.ensemble", KEY_INT, AT(model.ensemble), 1, 16, "1",
     "K prior members trained on the same posteriors; planning scores mean - lambda_var x variance over them", NULL},
    {"model.reward_layers", KEY_INT, AT(model.reward_layers), 0, 16, "2", "hidden layers of the reward head", NULL},
    {"model.reward_units", KEY_INT, AT(model.reward_units), 1, 8192, "300", "width of the reward head", NULL},
    {"model.reward_head", KEY_CHOICE, AT(model.reward_head), 0, 0, "gaussian",
     "gaussian (the reward itself, log-likelihood with std 1) or twohot (DreamerV3: 255 symlog bins, cross-entropy)",
     REGRESSIONS},
    {"model.activation", KEY_CHOICE, AT(model.activation), 0, 0, "relu",
     "relu, elu or silu (DreamerV3's), for every hidden layer", ACTIVATIONS},
    {"model.norm", KEY_CHOICE, AT(model.norm), 0, 0, "none",
     "none, or layer: DreamerV3's LayerNorm before the activation of the RSSM's input and hidden layers and the "
     "reward and continue heads' hidden layers",
     NORMS},
    {"model.continue_head", KEY_BOOL, AT(model.continue_head), 0, 1, "false",
     "a head predicting whether the episode goes on, trained on is_terminal; imagined steps after a predicted end "
     "are discounted (Dreamer)",
     NULL},
    {"loss.free_nats", KEY_FLOAT, AT(loss.free_nats), 0, 1e6, "3.0", "KL per step below this gets no gradient", NULL},
    {"loss.kl_scale", KEY_FLOAT, AT(loss.kl_scale), 0, 1e6, "1.0", "weight of the KL term", NULL},
    {"loss.kl_balancing", KEY_BOOL, AT(loss.kl_balancing), 0, 1, "false", "Dreamer V2 KL balancing", NULL},
    {"loss.kl_balance", KEY_FLOAT, AT(loss.kl_balance), 0, 1, "0.8", "prior's share of the KL gradient", NULL},
    {"loss.kl_dyn", KEY_FLOAT, AT(loss.kl_dyn), 0, 1e6, "0.0",
     "weight of the dynamics loss max(free_bits, KL(sg(q) || p)), which trains the prior (DreamerV3: 0.5)", NULL},
    {"loss.kl_rep", KEY_FLOAT, AT(loss.kl_rep), 0, 1e6, "0.0",
     "weight of the representation loss max(free_bits, KL(q || sg(p))), which trains the posterior (DreamerV3: 0.1)",
     NULL},
    {"loss.free_bits", KEY_FLOAT, AT(loss.free_bits), 0, 1e6, "1.0",
     "the dynamics and representation losses get no gradient below this KL per step", NULL},
    {"loss.reward_scale", KEY_FLOAT, AT(loss.reward_scale), 0, 1e6, "1.0", "weight of the reward log-likelihood", NULL},
    {"loss.overshooting", KEY_INT, AT(loss.overshooting), 0, 1000, "0",
     "latent overshooting distance D (PlaNet): KL terms for open-loop priors 2..D steps ahead; 0 or 1 is off", NULL},
    {"loss.overshooting_scale", KEY_FLOAT, AT(loss.overshooting_scale), 0, 1e6, "1.0",
     "weight of the overshooting KL terms", NULL},
    {"loss.overshooting_stop_gradient", KEY_BOOL, AT(loss.overshooting_stop_gradient), 0, 1, "true",
     "overshooting trains the open-loop priors only, not the posterior they are held to (PlaNet)", NULL},
    {"optim.learning_rate", KEY_FLOAT, AT(optim.learning_rate), 0, 10, "0.001", "Adam step size", NULL},
    {"optim.eps", KEY_FLOAT, AT(optim.eps), 0, 1, "0.0001", "Adam epsilon", NULL},
    {"optim.beta1", KEY_FLOAT, AT(optim.beta1), 0, 0.999999, "0.9", "Adam first-moment decay", NULL},
    {"optim.beta2", KEY_FLOAT, AT(optim.beta2), 0, 0.999999, "0.999", "Adam second-moment decay", NULL},
    {"optim.clip_norm", KEY_FLOAT, AT(optim.clip_norm), 0, 1e12, "1000.0", "global gradient norm clip; 0 is off", NULL},
    {"optim.agc", KEY_FLOAT, AT(optim.agc), 0, 1e6, "0.0",
     "adaptive clipping per tensor (DreamerV3: 0.3): each weight tensor's gradient norm at most this times the "
     "tensor's own norm (at least 1e-3), after the global clip; 0 is off",
     NULL},
    {"train.precision", KEY_CHOICE, AT(train.precision), 0, 0, "fp32",
     "fp32, bf16 mixed precision (the convolutions read bf16 and sum in f32; weights, Adam moments, losses and the "
     "RSSM stay f32), or auto: whichever of the two runs the convolutions faster here, measured",
     PRECISIONS},
    {"online.seed_episodes", KEY_INT, AT(online.seed_episodes), 1, 100000, "5",
     "random-policy episodes before training (wm train --env)", NULL},
    {"online.steps_per_episode", KEY_INT, AT(online.steps_per_episode), 1, 1e9, "100",
     "gradient steps between collected episodes", NULL},
    {"online.train_ratio", KEY_FLOAT, AT(online.train_ratio), 0, 1e6, "0.0",
     "replayed steps (data.batch x data.length per gradient step) per collected step, as DreamerV3 counts; episodes "
     "are collected whenever training has caught up with it. 0: online.steps_per_episode instead",
     NULL},
    {"online.exploration_noise", KEY_FLOAT, AT(online.exploration_noise), 0, 10, "0.3",
     "std of the Gaussian noise on the planner's actions while collecting", NULL},
    {"online.eval_every", KEY_INT, AT(online.eval_every), 1, 1e9, "10",
     "collected episodes between evaluation episodes without noise", NULL},
    {"online.eval_steps", KEY_INT, AT(online.eval_steps), 0, 1e12, "0",
     "environment steps (action repeat counted, seed episodes included) between evaluations, as published curves "
     "are read (10000); 0: online.eval_every instead",
     NULL},
    {"online.eval_episodes", KEY_INT, AT(online.eval_episodes), 1, 1000, "1",
     "episodes per evaluation; metrics.jsonl logs their mean (eval_return) and std (eval_return_std)", NULL},
    {"online.eval_samples", KEY_BOOL, AT(online.eval_samples), 0, 1, "false",
     "with plan.planner actor: each evaluation also plays online.eval_episodes with the actor's samples, as "
     "DreamerV3 evaluates, beside its mode (eval_sample_return, eval_sample_return_std); other planners ignore it",
     NULL},
    {"online.env_timeout", KEY_FLOAT, AT(online.env_timeout), 0.001, 1e6, "60.0",
     "seconds wm waits for an answer from an exec: or tcp: environment before it stops with a line saying so", NULL},
    {"online.mode", KEY_CHOICE, AT(online.mode), 0, 0, "sync",
     "sync: collect an episode between rounds of training (PlaNet); async: an actor thread acts at the environment's "
     "pace while the learner trains on the replay (DayDreamer)",
     ONLINE_MODES},
    {"online.sync_every", KEY_INT, AT(online.sync_every), 1, 1e9, "50",
     "async: environment steps between the actor's copies of the learner's newest weights", NULL},
    {"online.min_train_ratio", KEY_FLOAT, AT(online.min_train_ratio), 0, 1e6, "0.0",
     "async: a replay ratio below this marks the learner as behind in metrics.jsonl (learner_behind); 0: no floor",
     NULL},
    {"plan.planner", KEY_CHOICE, AT(plan.planner), 0, 0, "cem",
     "shooting, cem, mppi, or actor (the amortized actor; needs actor.enabled)", PLANNERS},
    {"plan.horizon", KEY_INT, AT(plan.horizon), 1, 1000, "12",
     "steps each candidate looks ahead (the planning horizon)", NULL},
    {"plan.iterations", KEY_INT, AT(plan.iterations), 1, 1000, "10", "refits per decision (CEM, MPPI)", NULL},
    {"plan.candidates", KEY_INT, AT(plan.candidates), 1, 100000, "1000", "action sequences per iteration (candidates)",
     NULL},
    {"plan.top_k", KEY_INT, AT(plan.top_k), 1, 100000, "100", "CEM's elite: the best k refit the distribution", NULL},
    {"plan.init_std", KEY_FLOAT, AT(plan.init_std), 1e-6, 10, "1.0", "CEM's starting std (mean 0)", NULL},
    {"plan.mppi_lambda", KEY_FLOAT, AT(plan.mppi_lambda), 1e-9, 1e9, "0.1",
     "MPPI's temperature: weights exp((R - max R) / lambda)", NULL},
    {"plan.mppi_std", KEY_FLOAT, AT(plan.mppi_std), 1e-6, 10, "0.3", "MPPI's sampling noise around the plan", NULL},
    {"plan.variance_penalty", KEY_FLOAT, AT(plan.variance_penalty), 0, 1e9, "1.0",
     "lambda_var: a plan's score is the ensemble's mean return minus this times its variance", NULL},
    {"plan.propagation", KEY_CHOICE, AT(plan.propagation), 0, 0, "each",
     "ensemble rollouts: each (member k throughout) or random (a random member per step)", PROPAGATIONS},
    {"plan.precision", KEY_CHOICE, AT(plan.precision), 0, 0, "auto",
     "imagined rollouts in fp32, bf16, or auto: whichever plans faster here, measured once per machine", PRECISIONS},
    {"plan.actor_candidates", KEY_INT, AT(plan.actor_candidates), 0, 100000, "0",
     "of each iteration's candidates, how many are the actor's own rollouts, drawn once per decision "
     "(planning guided by the actor)",
     NULL},
    {"plan.value_bootstrap", KEY_BOOL, AT(plan.value_bootstrap), 0, 1, "false",
     "end every candidate's return with the value of the last imagined state, which holds that state's reward, "
     "times actor.gamma^(horizon - 1)", NULL},
    {"plan.actor_mode", KEY_CHOICE, AT(plan.actor_mode), 0, 0, "mean",
     "--planner actor when not exploring: mean (tanh of the Normal's mean), density (the mode of the action's "
     "density) or sample (a draw from the policy, as it collects, without online.exploration_noise)",
     ACTOR_MODES},
    {"actor.enabled", KEY_BOOL, AT(actor.enabled), 0, 1, "false",
     "train an actor and a value in imagination beside the world model (Dreamer); --planner actor acts with it", NULL},
    {"actor.layers", KEY_INT, AT(actor.layers), 1, 16, "4", "the actor's hidden layers", NULL},
    {"actor.units", KEY_INT, AT(actor.units), 1, 8192, "400", "the actor's hidden units", NULL},
    {"actor.value_layers", KEY_INT, AT(actor.value_layers), 1, 16, "3", "the value's hidden layers", NULL},
    {"actor.value_units", KEY_INT, AT(actor.value_units), 1, 8192, "400", "the value's hidden units", NULL},
    {"actor.value_head", KEY_CHOICE, AT(actor.value_head), 0, 0, "gaussian",
     "gaussian (the value itself, squared error) or twohot (DreamerV3: 255 symlog bins, cross-entropy)", REGRESSIONS},
    {"actor.activation", KEY_CHOICE, AT(actor.activation), 0, 0, "elu",
     "elu, relu or silu, for the actor and the value", ACTIVATIONS},
    {"actor.norm", KEY_CHOICE, AT(actor.norm), 0, 0, "none",
     "none, or layer: LayerNorm in the actor's and the value's hidden layers (DreamerV3)", NORMS},
    {"actor.learning_rate", KEY_FLOAT, AT(actor.learning_rate), 0, 10, "8e-05", "the actor's Adam step size", NULL},
    {"actor.value_learning_rate", KEY_FLOAT, AT(actor.value_learning_rate), 0, 10, "8e-05",
     "the value's Adam step size", NULL},
    {"actor.eps", KEY_FLOAT, AT(actor.eps), 0, 1, "1e-05", "Adam epsilon of the actor and the value", NULL},
    {"actor.clip_norm", KEY_FLOAT, AT(actor.clip_norm), 0, 1e12, "100.0",
     "global gradient norm clip of the actor and of the value; 0 is off", NULL},
    {"actor.horizon", KEY_INT, AT(actor.horizon), 2, 1000, "15", "imagined steps from every posterior state", NULL},
    {"actor.imagine_last", KEY_INT, AT(actor.imagine_last), 0, 1000000, "0",
     "imagine from the last K posterior states of each sequence, B x K starts (DreamerV3's imag_last); 0: from every "
     "state, B x L", NULL},
    {"actor.gamma", KEY_FLOAT, AT(actor.gamma), 0, 1, "0.99", "discount of imagined rewards", NULL},
    {"actor.lambda", KEY_FLOAT, AT(actor.lambda), 0, 1, "0.95", "lambda of the lambda-return", NULL},
    {"actor.entropy_scale", KEY_FLOAT, AT(actor.entropy_scale), 0, 1e6, "0.0001",
     "weight of the policy's entropy in the actor's objective", NULL},
    {"actor.gradient", KEY_CHOICE, AT(actor.gradient), 0, 0, "dynamics",
     "dynamics: backpropagate the return through the learned model (Dreamer V1); reinforce: score function with "
     "the value as baseline (V2/V3)",
     GRADIENTS},
    {"actor.return_normalization", KEY_BOOL, AT(actor.return_normalization), 0, 1, "false",
     "divide the actor's return term by max(1, S), S a running 5th-to-95th percentile range of the imagined returns "
     "(DreamerV3): the entropy bonus then weighs the same whatever the rewards' scale",
     NULL},
    {"actor.slow_target", KEY_BOOL, AT(actor.slow_target), 0, 1, "false",
     "bootstrap returns with a slowly updated copy of the value", NULL},
    {"actor.target_every", KEY_INT, AT(actor.target_every), 1, 1e9, "100",
     "updates between refreshes of the slow value", NULL},
    {"actor.slow_mix", KEY_FLOAT, AT(actor.slow_mix), 1e-6, 1, "1.0",
     "each refresh moves the slow value this share of the way to the value: 1 copies it (Dreamer), DreamerV3 mixes "
     "0.02 every update",
     NULL},
    {"actor.slow_regularizer", KEY_FLOAT, AT(actor.slow_regularizer), 0, 1e6, "0.0",
     "weight of the value's regression onto the slow value's prediction, beside the returns (DreamerV3: 1)", NULL},
    {"actor.replay_value", KEY_FLOAT, AT(actor.replay_value), 0, 1e6, "0.0",
     "weight of the value's regression, on the replayed states imagination starts from, onto lambda-returns of the "
     "rewards their sequence really holds, bootstrapped from the imagined returns (DreamerV3's repval: 0.3); 0: off",
     NULL},
    {"actor.distribution", KEY_CHOICE, AT(actor.distribution), 0, 0, "tanh_normal",
     "tanh_normal (Dreamer: a Normal squashed by tanh) or bounded_normal (DreamerV3: a Normal with mean tanh(m), std "
     "in [actor.min_std, actor.max_std], its sample clipped to [-1, 1])",
     ACTION_DISTS},
    {"actor.init_std", KEY_FLOAT, AT(actor.init_std), 1e-3, 100, "1.0", "the action distribution's starting std", NULL},
    {"actor.mean_scale", KEY_FLOAT, AT(actor.mean_scale), 1e-3, 100, "2.0", "mean = scale tanh(raw / scale)", NULL},
    {"actor.min_std", KEY_FLOAT, AT(actor.min_std), 0, 10, "0.0001", "floor of the action distribution's std", NULL},
    {"actor.max_std", KEY_FLOAT, AT(actor.max_std), 1e-3, 10, "1.0",
     "ceiling of the bounded Normal's std (DreamerV3: 1; its floor actor.min_std: 0.1)", NULL},
    {"actor.variance_penalty", KEY_FLOAT, AT(actor.variance_penalty), 0, 1e9, "0.0",
     "subtract this times the ensemble members' reward variance from every imagined reward", NULL},
};
enum { KEY_COUNT = sizeof KEYS / sizeof KEYS[0] };

int config_key_count(void) { return KEY_COUNT; }
const char *config_key_name(int index) { return KEYS[index].name; }
const char *config_key_help(int index) { return KEYS[index].help; }
const char *config_key_choice(int index, int k) {
    const ConfigChoice *c = KEYS[index].choices;
    for (int i = 0; c && c[i].word; i++)
        if (i == k) return c[i].word;
    return NULL;
}
const char *config_key_default(int index) { return KEYS[index].default_text; }

void config_key_range(int index, char *out, size_t size) {
    const ConfigKey *k = &KEYS[index];
    static const char *const TYPES[] = {"integer", "number", "true or false", "text", "list of integers", ""};
    if (k->type == KEY_CHOICE) {
        size_t used = (size_t)snprintf(out, size, "one of");
        for (int i = 0; k->choices[i].word && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s %s", i ? "," : "", k->choices[i].word);
    } else if (k->type == KEY_INT || k->type == KEY_FLOAT || k->type == KEY_LIST) {
        if (k->type == KEY_FLOAT) snprintf(out, size, "%s in [%g, %g]", TYPES[k->type], k->lo, k->hi);
        else snprintf(out, size, "%s in [%.0f, %.0f]", TYPES[k->type], k->lo, k->hi);
    } else {
        snprintf(out, size, "%s", TYPES[k->type]);
    }
}

static const ConfigKey *find_key(const char *name) {
    for (int i = 0; i < KEY_COUNT; i++)
        if (strcmp(KEYS[i].name, name) == 0) return &KEYS[i];
    return NULL;
}

static const ConfigChoice *find_choice_word(const ConfigKey *key, const char *word) {
    for (int i = 0; key && key->choices && key->choices[i].word; i++)
        if (strcmp(key->choices[i].word, word) == 0) return &key->choices[i];
    return NULL;
}

static const char *choice_word(const ConfigKey *key, int value) {
    for (int i = 0; key && key->choices && key->choices[i].word; i++)
        if (key->choices[i].value == value) return key->choices[i].word;
    return "?";
}

int config_choice_value(const char *key, const char *word) {
    const ConfigChoice *choice = find_choice_word(find_key(key), word);
    return choice ? choice->value : -1;
}

const char *config_choice_word(const char *key, int value) { return choice_word(find_key(key), value); }

static WmStatus parse_number(const ConfigKey *key, const char *text, const char *where, double *out, WmError *err) {
    /* Decimal only: strtod would also take hexadecimal (0x10), "inf", "nan" and leading spaces. */
    if (text[0] == '\0' || strspn(text, "0123456789+-.eE") != strlen(text))
        return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is not a number (decimal digits only)", where,
                            key->name, text);
    errno = 0;
    char *end = NULL;
    const double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value))
        return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is not a number", where, key->name, text);
    if (key->type != KEY_FLOAT && value != floor(value))
        return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is not a whole number", where, key->name, text);
    if (value < key->lo || value > key->hi)
        return wm_error_set(err, WM_ERR_ARG, "%s: %s: %s is out of range [%g, %g]", where, key->name, text, key->lo,
                            key->hi);
    *out = value;
    return WM_OK;
}

static int text_is_printable(const char *text) {
    for (const char *c = text; *c; c++)
        if (*c < 0x20 || *c > 0x7e) return 0;
    return 1;
}

/* "[4, 4, 6]" or "4,4,6". */
static WmStatus parse_list(const ConfigKey *key, const char *text, const char *where, WmIntList *out, WmError *err) {
    char buffer[256];
    snprintf(buffer, sizeof buffer, "%s", text);
    char *s = buffer;
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s[n - 1] = '\0', s++;
    WmIntList list = {0};
    for (char *save = NULL, *item = strtok_r(s, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ') item++;
        for (char *e = item + strlen(item); e > item && e[-1] == ' ';) *--e = '\0';
        if (list.count == WM_CONFIG_LIST_MAX)
            return wm_error_set(err, WM_ERR_ARG, "%s: %s: more than %d items", where, key->name, WM_CONFIG_LIST_MAX);
        double value;
        if (parse_number(key, item, where, &value, err)) return err->status;
        list.values[list.count++] = (int)value;
    }
    if (list.count == 0) return wm_error_set(err, WM_ERR_ARG, "%s: %s: an empty list", where, key->name);
    *out = list;
    return WM_OK;
}

/* A word-valued key: its value, or "where: key: 'x' is not a, b or c". */
static WmStatus parse_choice(const ConfigKey *key, const char *word, const char *where, int *out, WmError *err) {
    const ConfigChoice *choice = find_choice_word(key, word);
    if (choice) {
        *out = choice->value;
        return WM_OK;
    }
    int count = 0;
    while (key->choices[count].word != NULL) count++;
    char listed[256] = "";
    for (int i = 0; i < count; i++) {
        const size_t used = strlen(listed);
        snprintf(listed + used, sizeof listed - used, "%s%s", i == 0 ? "" : i == count - 1 ? " or " : ", ",
                 key->choices[i].word);
    }
    return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is not %s", where, key->name, word, listed);
}

static WmStatus apply(WmConfig *config, const ConfigKey *key, const char *text, const char *where, WmError *err) {
    char *field = (char *)config + key->offset;
    double number;
    switch (key->type) {
    case KEY_INT:
        if (parse_number(key, text, where, &number, err)) return err->status;
        *(long *)field = (long)number;
        return WM_OK;
    case KEY_FLOAT:
        if (parse_number(key, text, where, &number, err)) return err->status;
        *(double *)field = number;
        return WM_OK;
    case KEY_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) *(int *)field = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) *(int *)field = 0;
        else return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is not true or false", where, key->name, text);
        return WM_OK;
    case KEY_CHOICE:
        return parse_choice(key, text, where, (int *)field, err);
    case KEY_TEXT:
        /* Printable ASCII, which the YAML a run writes (quoted when not a plain word) reads back to the same text. */
        if (text[0] == '\0' || !text_is_printable(text))
            return wm_error_set(err, WM_ERR_ARG, "%s: %s: '%s' is empty or holds a character outside printable ASCII",
                                where, key->name, text);
        if (strlen(text) >= WM_CONFIG_TEXT_MAX)
            return wm_error_set(err, WM_ERR_ARG, "%s: %s: longer than %d characters", where, key->name,
                                WM_CONFIG_TEXT_MAX - 1);
        /* The whole field, not only up to the terminator: two configs read from the same text are then equal byte
         * for byte however often a key was set before (the config fuzzer's round trip compares them so). */
        memset(field, 0, WM_CONFIG_TEXT_MAX);
        memcpy(field, text, strlen(text));
        return WM_OK;
    case KEY_LIST:
        return parse_list(key, text, where, (WmIntList *)field, err);
    }
    return WM_OK;
}

void config_defaults(WmConfig *config) {
    memset(config, 0, sizeof *config);
    WmError err = {0};
    for (int i = 0; i < KEY_COUNT; i++) apply(config, &KEYS[i], KEYS[i].default_text, "default", &err);
}

/* Edit distance (insertions, deletions, substitutions) between two short strings, capped at 99. */
static int edit_distance(const char *a, const char *b) {
    const size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= m; j++) row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diagonal = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            const int up = row[j], cost = a[i - 1] != b[j - 1];
            int best = diagonal + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diagonal = up, row[j] = best;
        }
    }
    return row[m];
}

WmStatus config_set(WmConfig *config, const char *name, const char *text, const char *where, WmError *err) {
    const ConfigKey *key = find_key(name);
    if (key == NULL) {
        int best = -1, distance = 4; /* suggest only a near miss */
        for (int i = 0; i < KEY_COUNT; i++) {
            const int d = edit_distance(name, KEYS[i].name);
            if (d < distance) best = i, distance = d;
        }
        if (best >= 0)
            return wm_error_set(err, WM_ERR_ARG, "%s: unknown key '%s' (did you mean %s?)", where, name,
                                KEYS[best].name);
        return wm_error_set(err, WM_ERR_ARG, "%s: unknown key '%s' (wm config --keys lists them)", where, name);
    }
    return apply(config, key, text, where, err);
}

WmStatus config_set_assignment(WmConfig *config, const char *assignment, WmError *err) {
    const char *equals = strchr(assignment, '=');
    if (equals == NULL || equals == assignment)
        return wm_error_set(err, WM_ERR_ARG, "--set %s: expected section.key=value", assignment);
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(equals - assignment), assignment);
    return config_set(config, name, equals + 1, "--set", err);
}

WmModelConfig model_config_from(const WmConfig *config) {
    return (WmModelConfig){config->data.height, config->data.width, config->data.bit_depth, 0, config->model,
                           config->loss};
}

WmStatus model_config_validate(const WmModelConfig *config, WmError *err) {
    long height = config->height, width = config->width;
    const WmModelSection *net = &config->net;
    for (int i = 0; i < net->encoder_kernels.count; i++) {
        const int k = net->encoder_kernels.values[i];
        height = (height - k) / 2 + 1, width = (width - k) / 2 + 1;
        if (height < 1 || width < 1)
            return wm_error_set(err, WM_ERR_ARG, "model.encoder_kernels: layer %d has no output for %ldx%ld images",
                                i + 1, config->width, config->height);
    }
    long size = 1;
    for (int i = 0; i < net->decoder_kernels.count; i++) size = (size - 1) * 2 + net->decoder_kernels.values[i];
    if (size != config->height || size != config->width)
        return wm_error_set(err, WM_ERR_ARG, "model.decoder_kernels: the decoder makes %ldx%ld images, data is %ldx%ld",
                            size, size, config->width, config->height);
    if (net->decoder_kernels.count < 2)
        return wm_error_set(err, WM_ERR_ARG, "model.decoder_kernels: at least 2 layers");
    if (net->latent == WM_LATENT_CATEGORICAL && net->stoch * net->classes > 65536)
        return wm_error_set(err, WM_ERR_ARG, "model.classes: stoch x classes = %ld floats of state, more than 65536",
                            net->stoch * net->classes);
    return WM_OK;
}

WmStatus config_validate(const WmConfig *config, WmError *err) {
    const WmModelConfig model = model_config_from(config);
    if (model_config_validate(&model, err)) return err->status;
    if (config->data.length < 2) return wm_error_set(err, WM_ERR_ARG, "data.length: at least 2 steps");
    if (config->plan.planner == WM_PLAN_ACTOR && !config->actor.enabled)
        return wm_error_set(err, WM_ERR_ARG, "plan.planner: actor needs actor.enabled: true (an actor to act with)");
    if ((config->plan.actor_candidates > 0 || config->plan.value_bootstrap) && !config->actor.enabled)
        return wm_error_set(err, WM_ERR_ARG, "plan.%s: needs actor.enabled: true",
                            config->plan.actor_candidates > 0 ? "actor_candidates" : "value_bootstrap");
    if (config->actor.distribution == WM_ACTION_BOUNDED_NORMAL && config->actor.max_std <= config->actor.min_std)
        return wm_error_set(err, WM_ERR_ARG, "actor.max_std: %g is not above actor.min_std = %g", config->actor.max_std,
                            config->actor.min_std);
    if (config->plan.actor_candidates >= config->plan.candidates)
        return wm_error_set(err, WM_ERR_ARG,
                            "plan.actor_candidates: %ld leaves none of plan.candidates = %ld to the search",
                            config->plan.actor_candidates, config->plan.candidates);
    if (config->plan.top_k > config->plan.candidates)
        return wm_error_set(err, WM_ERR_ARG, "plan.top_k: %ld is more than plan.candidates = %ld", config->plan.top_k,
                            config->plan.candidates);
    if (config->actor.imagine_last > config->data.length)
        return wm_error_set(err, WM_ERR_ARG,
                            "actor.imagine_last: %ld is more than the %ld steps of a sequence (data.length)",
                            config->actor.imagine_last, config->data.length);
    if (config->loss.overshooting >= config->data.length)
        return wm_error_set(err, WM_ERR_ARG, "loss.overshooting: %ld reaches past a sequence of data.length = %ld",
                            config->loss.overshooting, config->data.length);
    if (config->data.batch * config->data.length > 1000000)
        return wm_error_set(err, WM_ERR_ARG, "data.batch: B x L = %ld frames is more than 10^6",
                            config->data.batch * config->data.length);
    return WM_OK;
}

/* A plain word as it is; any other text double-quoted, with " and \ escaped, so YAML reads it back the same. */
static void format_text(const char *text, char *out, size_t size) {
    if (strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(text)) {
        snprintf(out, size, "%s", text);
        return;
    }
    size_t used = 0;
    out[used++] = '"';
    for (const char *c = text; *c && used + 3 < size; c++) {
        if (*c == '"' || *c == '\\') out[used++] = '\\';
        out[used++] = *c;
    }
    out[used++] = '"';
    out[used] = '\0';
}

static void format_value(const WmConfig *config, const ConfigKey *key, char *out, size_t size) {
    const char *field = (const char *)config + key->offset;
    switch (key->type) {
    case KEY_INT: snprintf(out, size, "%ld", *(const long *)field); break;
    case KEY_FLOAT: { /* the shortest text that reads back to the same double */
        const double value = *(const double *)field;
        for (int digits = 6; digits <= 17; digits++) {
            snprintf(out, size, "%.*g", digits, value);
            if (strtod(out, NULL) == value) break;
        }
        break;
    }
    case KEY_BOOL: snprintf(out, size, "%s", *(const int *)field ? "true" : "false"); break;
    case KEY_TEXT: format_text(field, out, size); break;
    case KEY_CHOICE: snprintf(out, size, "%s", choice_word(key, *(const int *)field)); break;
    case KEY_LIST: {
        const WmIntList *list = (const WmIntList *)field;
        size_t used = (size_t)snprintf(out, size, "[");
        for (int i = 0; i < list->count && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%d", i ? ", " : "", list->values[i]);
        if (used < size) snprintf(out + used, size - used, "]");
        break;
    }
    }
}

int config_differences(const WmConfig *a, const WmConfig *b, const char *const *prefixes, char *out, size_t size) {
    int count = 0;
    size_t used = 0;
    if (size) out[0] = '\0';
    for (int i = 0; i < KEY_COUNT; i++) {
        int wanted = 0;
        for (int p = 0; prefixes[p] && !wanted; p++)
            wanted = strncmp(KEYS[i].name, prefixes[p], strlen(prefixes[p])) == 0;
        char left[WM_CONFIG_VALUE_MAX], right[WM_CONFIG_VALUE_MAX];
        format_value(a, &KEYS[i], left, sizeof left);
        format_value(b, &KEYS[i], right, sizeof right);
        if (!wanted || strcmp(left, right) == 0) continue;
        if (used < size)
            used += (size_t)snprintf(out + used, size - used, "%s%s: %s vs %s", count ? ", " : "", KEYS[i].name, left,
                                     right);
        count++;
    }
    return count;
}

void config_write_yaml(const WmConfig *config, FILE *out) {
    char section[32] = "";
    for (int i = 0; i < KEY_COUNT; i++) {
        const char *dot = strchr(KEYS[i].name, '.');
        if (strncmp(section, KEYS[i].name, (size_t)(dot - KEYS[i].name)) != 0 || section[dot - KEYS[i].name] != '\0') {
            snprintf(section, sizeof section, "%.*s", (int)(dot - KEYS[i].name), KEYS[i].name);
            fprintf(out, "%s:\n", section);
        }
        char value[WM_CONFIG_VALUE_MAX];
        format_value(config, &KEYS[i], value, sizeof value);
        fprintf(out, "  %s: %s\n", dot + 1, value);
    }
}

char *config_to_yaml_string(const WmConfig *config) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) return NULL;
    config_write_yaml(config, out);
    fclose(out);
    return text;
}
