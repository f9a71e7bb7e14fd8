/* Dreamer's actor-critic, learned in imagination (Hafner et al. 2020). From the posterior states of a training
 * batch (N = B x L starts, or B x actor.imagine_last, detached from the world model), `horizon` steps are imagined
 * with the prior, the actor choosing each action from the features [h, z] (a reparameterised tanh-Normal sample).
 * The reward head predicts r_k and the value v_k on the imagined states s_1 .. s_H, and the lambda-returns
 *   R_H = v_H,   R_k = r_k + gamma ((1 - lambda) v_{k+1} + lambda R_{k+1}),   k = 1 .. H-1
 * are what the actor maximises, weighted by the cumulative discount w_k = gamma^(k-1), with an entropy bonus on
 * each action (the soft-optimal policy of control as inference):
 *   actor loss = -mean_{n,k} w_k (R_k + entropy_scale H(pi(. | s_{k-1})))
 * "dynamics" backpropagates R through the learned transition, reward and value (Dreamer V1); "reinforce" uses
 * log pi(a_{k-1} | s_{k-1}) sg(R_{k-1} - v(s_{k-1})) instead (V2/V3), R_0 with the reward head's r_0. The value
 * regresses onto the detached returns:
 *   value loss = mean_{n,k} w_k (v(sg(s_k)) - sg(R_k))^2 / 2   (or the twohot cross-entropy)
 * plus, with actor.slow_regularizer (DreamerV3), that weight times the same loss toward the slow value's
 * prediction, a copy refreshed every target_every updates by slow_mix of the way (V3: 0.02 every update). With
 * actor.replay_value (DreamerV3's replay value loss, 0.3) the value also regresses, on the starts themselves, onto
 * lambda-returns of the rewards the replayed sequence really holds (imagine_replay.c).
 * With actor.return_normalization (DreamerV3) the return term is divided by max(1, S), S = P95 - P5 of the returns
 * R_k as exponential moving averages (decay 0.99) of each update's percentiles: the entropy bonus then weighs the
 * same against returns of any scale. The running percentiles change after each update, so an update's losses
 * are a function of the parameters and the state before it (what the gradient checks need).
 * With an ensemble (model.ensemble K > 1) each imagined step runs one member's prior: a random one per step
 * (plan.propagation random) or one per update for the whole horizon (each); actor.variance_penalty lambda turns
 * every imagined reward into r - lambda Var_j r(h, mean_j(h)) over the K members' prior means, the pessimistic
 * objective inside policy learning.
 * The world model's parameters are read, never changed: backward runs through a view of them without a
 * gradient block, so the world model's own update is bit-identical with the actor on or off and no weight
 * gradient is computed for it. The value is frozen the same way inside the actor's objective. */
#ifndef WM_TRAIN_IMAGINE_H
#define WM_TRAIN_IMAGINE_H

#include "config/config.h"
#include "core/arena.h"
#include "core/comm.h"
#include "core/rng.h"
#include "nets/actor.h"
#include "nets/world_model.h"
#include "optim/adam.h"

typedef struct {
    double actor_loss, value_loss;
    double imagined_return; /* mean R_1 */
    double entropy;         /* mean entropy estimate per action */
    double std;             /* the actor's mean std over the imagined states and actions (before tanh): a policy
                             * whose std runs away acts as +-1 noise, whatever its mean */
    double return_low, return_high; /* the 5th and 95th percentiles of this update's returns R_1 .. R_{H-1} */
    double actor_grad_norm, value_grad_norm;
    double replay_return; /* with actor.replay_value: the mean target G_t of the replayed starts */
    double action_grad; /* through the dynamics: the RMS over imagined actions of d(scaled return)/d(action), per
                         * state (undoing the mean over states): how much the model lets an action move the return;
                         * 0 with REINFORCE */
} WmImagineLosses;

typedef struct WmImagineRollout WmImagineRollout;

/* The starts' real rewards and continues (N each, the starts' rows): `batch` sequences side by side, time-major,
 * each start a real state of its sequence, as imagine_update_from_trace takes them. */
typedef struct {
    const float *rewards, *continues;
    int batch;
} WmImagineReplay;

typedef struct {
    WmActor actor;
    WmValue value;
    WmParams value_target; /* the slow copy (values only), when actor.slow_target or actor.slow_regularizer */
    WmAdam actor_adam, value_adam;
    WmRng rng; /* the actions' and the imagined latents' noise */
    WmArena arena;
    WmImagineRollout *rollout; /* what the losses' forward keeps for their backward (imagine.c) */
    int starts, horizon, reinforce, slow_target, random_propagation;
    int has_slow;     /* a slow copy of the value is kept (value_target) */
    float gamma, lambda, entropy_scale, variance_penalty, slow_regularizer, slow_mix;
    float replay_value; /* weight of the value's loss on the replayed starts (actor.replay_value) */
    int normalize_returns;
    double return_low, return_high; /* running percentiles of the returns (actor.return_normalization) */
    double action_grad; /* the last backward's WmImagineLosses.action_grad */
    int *member_at; /* (horizon): the ensemble member of each imagined step, drawn per update with the noise */
    long target_every, updates;
    float *noise; /* one update's draws: (horizon, N, A) action noise, then (horizon, N, S) latent noise */
    WmComm *comm; /* a data-parallel job's ranks (the trainer's), or NULL: gradients and losses are averaged */
} WmImagination;

/* The states each update imagines from, of a batch of B sequences of L steps: B x actor.imagine_last, or B x L. */
int imagine_starts(const WmConfig *config, int batch, int length);

/* For `starts` states per update on `model`'s shapes. Initialises the actor and value from run.seed. */
WmStatus imagine_create(WmImagination *im, const WmConfig *config, const WmWorldModel *model, int starts,
                        WmError *err);
void imagine_free(WmImagination *im);

/* Floats of noise one update draws. */
size_t imagine_noise_floats(const WmImagination *im, const WmWorldModel *model);
/* The actor's and the value's losses from starts h (N, D) and z (N, S) with the noise in im->noise (the arena is
 * reset first); with `replay` (or NULL) and actor.replay_value, the value's loss on the starts too. */
WmStatus imagine_losses_forward(WmImagination *im, const WmWorldModel *model, const float *h, const float *z,
                                const WmImagineReplay *replay, WmImagineLosses *losses, WmError *err);
/* After imagine_losses_forward: adds the actor's and the value's gradients to their blocks (the caller zeroes
 * them). */
WmStatus imagine_losses_backward(WmImagination *im, const WmWorldModel *model, WmError *err);
/* What the return term is divided by: max(1, running P95 - P5) with actor.return_normalization, else 1. */
double imagine_return_scale(const WmImagination *im);
/* One update: draws the noise, computes both losses and gradients (averaged over the ranks), steps both optimisers
 * (and refreshes the slow value every target_every updates). A non-finite loss or norm stops with WM_ERR_NUMERIC
 * before any change. */
WmStatus imagine_update(WmImagination *im, const WmWorldModel *model, const float *h, const float *z,
                        const WmImagineReplay *replay, WmImagineLosses *losses, WmError *err);
/* imagine_update from the model's last step's posterior states, detached: the last im->starts rows of its trace,
 * which is time-major, so the last steps of every sequence, with their rewards and continues as the replay. */
WmStatus imagine_update_from_trace(WmImagination *im, const WmWorldModel *model, WmImagineLosses *losses,
                                   WmError *err);

#endif
