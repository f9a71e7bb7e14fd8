/* The world model: convolutional encoder, RSSM, deconvolutional decoder and reward head, trained jointly on the
 * ELBO. With a state vector beside each frame (config.state_dim > 0), an MLP encodes symlog(state) beside the conv
 * embedding, and an MLP head on [h, z] predicts symlog(state) as a Gaussian of std 1, one more ELBO term (DreamerV3's
 * vector inputs); both have the reward head's shape. Sizes come from the model configuration (the run config's image size, model and loss sections). Time folds into the batch wherever nothing recurs: encoder,
 * decoder and reward head run once on N = L x B frames (time-major rows, n = t B + b); only the RSSM steps.
 *
 * Memory: the parameters (with gradients and Adam moments) live as long as the model; one step's activations live
 * in `arena`, reset at the start of every step; the inputs of a step live in fixed buffers made at build. */
#ifndef WM_NETS_WORLD_MODEL_H
#define WM_NETS_WORLD_MODEL_H

#include <stdint.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/dnnl_ctx.h"
#include "core/params.h"
#include "core/rng.h"
#include "nets/conv_stack.h"
#include "nets/mlp.h"
#include "nets/regression.h"
#include "nets/rssm.h"


typedef struct {
    double loss;      /* the objective minimised, per frame */
    double image_nll; /* -log p(o | h, z) per frame */
    double reward_nll;
    double kl;        /* KL(q || p) per frame, before free nats */
    double overshoot_kl; /* KL(q_t || p(z_t | z_{t-d})) over d = 2..D, per predicted frame; 0 when off */
    double ensemble_kl;  /* KL(q || p_k) of the extra members, per frame and member; 0 without an ensemble */
    double image_mse; /* per pixel, in [-0.5, 0.5] units: easier to read than the nll */
    double continue_nll; /* -log Bernoulli(goes on) of the continue head, per frame; 0 without one */
    double state_nll;    /* -log p(symlog(state) | h, z) per frame, without the Gaussian's constant; 0 without */
} WmLosses;

/* One step's inputs, time-major; filled by model_inputs_load (src/train) or by a test. */
typedef struct {
    float *images;  /* (N, 3, H, W), in [-0.5, 0.5] */
    float *actions; /* (N, A) */
    float *rewards; /* (N) */
    float *noise;   /* (N, S): the posterior's reparameterisation noise */
    float *continues; /* (N): 1 where the episode goes on after the frame, 0 at a terminal one */
    float *states;    /* (N, config.state_dim), as measured (not symlog'd); NULL without states */
    float *overshoot_noise; /* the open-loop priors' noise, world_model_overshoot_noise_floats of it */
} WmModelInput;

typedef struct WmOvershoot WmOvershoot; /* latent overshooting's per-step state (world_model.c) */
typedef struct WmElbo WmElbo;           /* what the ELBO's forward keeps for its backward (world_model.c) */

typedef struct {
    WmModelConfig config;
    int action_dim;
    int batch, length; /* B, L the step runs at */
    int train_bf16;    /* the convolutions in bf16 mixed precision (train.precision); set before world_model_build */
    size_t
        activation_bytes; /* of the arena, what the last step's forward pass held (the rest of its peak: gradients) */
    WmParams params;
    WmConvStack encoder, decoder;
    int embed;              /* E: the encoder's flattened output */
    int state_embed;        /* the state encoder's output beside it; 0 without states */
    WmMlp state_encoder;    /* symlog(state) -> its embedding */
    WmMlp state_decoder;    /* [h, z] -> symlog(state)'s mean */
    int decoder_width;      /* the decoder's dense layer, reshaped to (width, 1, 1) */
    WmDense decoder_dense;
    WmRssm rssm;
    WmMlp reward;       /* [h, z] -> the reward's mean, or its twohot logits */
    WmRegression reward_out; /* how the reward head's output reads as the reward (model.reward_head) */
    WmMlp continuation; /* [h, z] -> the logit that the episode goes on (model.continue_head) */
    int has_continue;
    WmDnnl dnnl;
    WmArena arena;
    WmModelInput input;
    WmOvershoot *overshoot; /* NULL when loss.overshooting < 2 */
    WmElbo *elbo;           /* made by world_model_build */
    /* Outputs of the last forward, valid until the next (image_mean is NULL after a step with backward, which
     * writes the image's gradient over it): */
    float *image_mean;    /* (N, 3, H, W) */
    float *reward_mean;   /* (N): the predicted reward */
    float *continue_logit; /* (N), with a continue head */
    float *state_mean;     /* (N, config.state_dim): symlog(state)'s predicted mean, with states */
    WmRssmTrace trace;
} WmWorldModel;

/* Declares and allocates the parameters (zero) with their gradients and Adam moments for the config and action
 * size; builds nothing yet. */
WmStatus world_model_create(WmWorldModel *model, const WmModelConfig *config, int action_dim, WmError *err);
/* Declares the parameters without allocating them: the caller picks params_allocate (training) or
 * params_allocate_values (acting). */
WmStatus world_model_declare(WmWorldModel *model, const WmModelConfig *config, int action_dim, WmError *err);
/* Glorot-uniform weights, zero biases; each tensor draws from a stream named after it (seed, hash of the name). */
void world_model_init_params(WmWorldModel *model, uint64_t seed);
/* Makes the primitives, the arena and the input buffers for steps of B x L. */
WmStatus world_model_build(WmWorldModel *model, int batch, int length, WmError *err);
void world_model_free(WmWorldModel *model);

/* Pixels uint8 (N, H, W, 3) to (N, 3, H, W) in [-0.5, 0.5], keeping bit_depth bits: each value at the centre of
 * its quantisation bin, or, with `dequantize_rng`, drawn uniformly over the bin (PlaNet's dequantisation), so
 * the mean a model learns is the value it acts on. */
void world_model_preprocess(const WmWorldModel *model, float *images, const uint8_t *pixels, size_t frames,
                            WmRng *dequantize_rng);

/* The ELBO on model->input: every term into losses (the arena is reset first). */
WmStatus elbo_forward(WmWorldModel *model, WmLosses *losses, WmError *err);
/* After elbo_forward: adds the gradient of losses->loss to the parameters' gradients (the caller zeroes
 * them). The image's gradient is written over image_mean, which is NULL afterwards. */
WmStatus elbo_backward(WmWorldModel *model, WmError *err);

/* Forward only, on model->input: the first `context` steps are filtered with the frames, the rest predicted open
 * loop from the actions (the prior, with input.noise as its draws). Fills image_mean and reward_mean. */
WmStatus world_model_predict(WmWorldModel *model, int context, WmError *err);

/* The RSSM's observation input for `rows` frames from their conv embeddings (rows, E): those alone, or with the
 * state encoder's output on symlog(states) (rows, config.state_dim) beside them, (rows, E + state_embed) from the
 * arena. symlog_states and state_outs (may be NULL) keep what backward needs. */
WmStatus world_model_observation(const WmWorldModel *model, WmArena *arena, const float *conv_embed,
                                 const float *states, int rows, const float **embed, float **symlog_states,
                                 float **state_outs, WmError *err);

/* Floats of noise latent overshooting draws per step (0 when it is off). */
size_t world_model_overshoot_noise_floats(const WmWorldModel *model);

/* Floats of one (N, 3, H, W) image batch. */
size_t world_model_image_floats(const WmWorldModel *model);

#endif
