/* Dreamer's actor and value on the latent features [h, z] (D + S): the actor an MLP to 2A raw outputs of a distribution
 * over actions in [-1, 1] (nets/action_dist.h), the value an MLP read as one number (nets/regression.h). Each has its
 * own parameter block, so each has its own Adam state, apart from the world model's. */
#ifndef WM_NETS_ACTOR_H
#define WM_NETS_ACTOR_H

#include <stdint.h>

#include "config/config.h"
#include "nets/action_dist.h"
#include "nets/mlp.h"
#include "nets/regression.h"

typedef struct {
    WmParams params;
    WmMlp net; /* (D + S) -> 2A */
    WmActionDist dist;
    int features, actions;
} WmActor;

typedef struct {
    WmParams params;
    WmMlp net;        /* (D + S) -> 1, or the twohot bins */
    WmRegression out; /* how its output reads as the value (actor.value_head) */
} WmValue;

/* Declared and allocated (values, gradients and moments) from the config's actor section. */
WmStatus actor_create(WmActor *actor, const WmActorSection *config, int features, int actions, WmError *err);
/* Glorot weights drawn from seed, zero biases; the bounded Normal's output layer scaled to 1%. */
void actor_init_params(WmActor *actor, uint64_t seed);
WmStatus value_create(WmValue *value, const WmActorSection *config, int features, WmError *err);
void actor_free(WmActor *actor);
void value_free(WmValue *value);
/* The action (A) for one feature row: the sample for eps (A); without eps, the mode: tanh(mean), or with
 * density_mode the mode of the action's own density (action_dist_mode). */
WmStatus actor_act(const WmActor *actor, WmArena *arena, const float *features, const float *eps, int density_mode,
                   float *action, WmError *err);

#endif
