/* Test helper for the DreamerV3 peer (test_dreamerv3_peer.py): builds a tiny world model with DreamerV3's pieces
 * (categorical latents with unimix, the KL split with free bits, a twohot reward head, a continue head, SiLU and
 * LayerNorm, the normalised GRU, the action's own input layer), fills its weights and one batch from fixed
 * streams, runs the ELBO's forward and writes a safetensors file: every parameter by name, the batch ("input.*"),
 * and the loss terms in the metadata. Beside them, two op cases the peer checks on their own: the categorical KL
 * ("kl.*") and twohot ("twohot.*").
 * Usage: elbo_dump OUT.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "gradcheck.h"
#include "nets/latent.h"
#include "nets/world_model.h"
#include "ops/twohot.h"

enum { BATCH = 2, LENGTH = 4, ACTIONS = 2, TENSORS_MAX = 160 };
enum { KL_ROWS = 5, KL_GROUPS = 3, KL_CLASSES = 4, TWOHOT_ROWS = 7 };

static const char *const SETS[] = {
    "data.height=16", "data.width=16", "model.depth=2", "model.encoder_kernels=[4,4]", "model.decoder_kernels=[6,6]",
    "model.deter=6", "model.stoch=3", "model.latent=categorical", "model.classes=4", "model.hidden=5",
    "model.reward_layers=1", "model.reward_units=5", "model.reward_head=twohot", "model.continue_head=true",
    "model.activation=silu", "model.norm=layer", "loss.kl_scale=0", "loss.kl_dyn=0.5", "loss.kl_rep=0.1",
    "loss.free_bits=0.05", "loss.reward_scale=1.5", "model.action_input=separate"};

typedef struct {
    WmTensorRef refs[TENSORS_MAX];
    int count;
} Tensors;

static void add(Tensors *t, const char *name, const float *data, int rank, const int64_t *shape) {
    size_t count = 1;
    WmTensorRef *r = &t->refs[t->count++];
    *r = (WmTensorRef){.name = name, .dtype = "F32", .rank = rank, .data = data};
    for (int i = 0; i < rank; i++) r->shape[i] = shape[i], count *= (size_t)shape[i];
    r->bytes = count * sizeof(float);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: elbo_dump OUT.safetensors\n");
        return 2;
    }
    WmConfig config;
    WmError err = {0};
    config_defaults(&config);
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0] && err.status == WM_OK; i++)
        config_set_assignment(&config, SETS[i], &err);
    const WmModelConfig model_config = model_config_from(&config);
    WmWorldModel m;
    if (err.status || world_model_create(&m, &model_config, ACTIONS, &err) ||
        world_model_build(&m, BATCH, LENGTH, &err)) {
        fprintf(stderr, "elbo_dump: %s\n", err.message);
        return 1;
    }
    /* Every tensor from its own stream, biases and the norms' gains too, so none sits at a special point. */
    world_model_init_params(&m, 11);
    for (int i = 0; i < m.params.count; i++)
        fill_normal(params_value(&m.params, i), m.params.infos[i].count, m.params.infos[i].rank == 1 ? 0.2f : 0.4f,
                    500 + i);
    for (int i = 0; i < m.params.count; i++) {
        const size_t length = strlen(m.params.infos[i].name);
        if (length > 6 && strcmp(m.params.infos[i].name + length - 6, ".scale") == 0)
            for (size_t j = 0; j < m.params.infos[i].count; j++) params_value(&m.params, i)[j] += 1.0f;
    }
    const int N = BATCH * LENGTH, S = m.rssm.stoch;
    fill_uniform(m.input.images, world_model_image_floats(&m), -0.5f, 0.5f, 1);
    fill_uniform(m.input.actions, (size_t)N * ACTIONS, -1.0f, 1.0f, 2);
    fill_normal(m.input.rewards, N, 3.0f, 3);
    fill_normal(m.input.noise, (size_t)N * S, 1.0f, 4);
    for (int n = 0; n < N; n++) m.input.continues[n] = n % 3 ? 1.0f : 0.0f;
    WmLosses losses;
    if (elbo_forward(&m, &losses, &err)) {
        fprintf(stderr, "elbo_dump: %s\n", err.message);
        return 1;
    }
    Tensors t = {.count = 0};
    for (int i = 0; i < m.params.count; i++) {
        const WmParamInfo *info = &m.params.infos[i];
        int64_t shape[WM_PARAM_RANK_MAX];
        for (int d = 0; d < info->rank; d++) shape[d] = info->shape[d];
        add(&t, info->name, params_value(&m.params, i), info->rank, shape);
    }
    const int64_t images[4] = {N, 3, 16, 16}, actions[2] = {N, ACTIONS}, rows[1] = {N}, noise[2] = {N, S};
    add(&t, "input.images", m.input.images, 4, images), add(&t, "input.actions", m.input.actions, 2, actions);
    add(&t, "input.rewards", m.input.rewards, 1, rows), add(&t, "input.noise", m.input.noise, 2, noise);
    add(&t, "input.continues", m.input.continues, 1, rows);

    /* The categorical KL with unimix, on its own. */
    static float logits_q[KL_ROWS * KL_GROUPS * KL_CLASSES], logits_p[KL_ROWS * KL_GROUPS * KL_CLASSES], kl[KL_ROWS];
    static float probs_q[KL_ROWS * KL_GROUPS * KL_CLASSES], probs_p[KL_ROWS * KL_GROUPS * KL_CLASSES];
    fill_normal(logits_q, sizeof logits_q / sizeof *logits_q, 2.0f, 5);
    fill_normal(logits_p, sizeof logits_p / sizeof *logits_p, 2.0f, 6);
    const WmLatent latent = {WM_LATENT_CATEGORICAL, KL_GROUPS * KL_CLASSES, KL_CLASSES, 0.1f, 0.01f};
    latent_mean_from_raw(&latent, probs_q, logits_q, KL_ROWS);
    latent_mean_from_raw(&latent, probs_p, logits_p, KL_ROWS);
    latent_kl_forward(&latent, kl, probs_q, NULL, probs_p, NULL, KL_ROWS);
    const int64_t kl_shape[2] = {KL_ROWS, KL_GROUPS * KL_CLASSES}, kl_rows[1] = {KL_ROWS};
    add(&t, "kl.logits_q", logits_q, 2, kl_shape), add(&t, "kl.logits_p", logits_p, 2, kl_shape);
    add(&t, "kl.value", kl, 1, kl_rows);

    /* Twohot: encodings, the cross-entropy and the prediction, at DreamerV3's 255 bins over [-20, 20]. */
    const WmTwohot twohot = {255, -20.0f, 20.0f};
    static float targets[TWOHOT_ROWS] = {0.0f, 0.3f, -2.5f, 17.0f, -400.0f, 3e9f, 1e-3f};
    static float encoded[TWOHOT_ROWS * 255], logits[TWOHOT_ROWS * 255], ce[TWOHOT_ROWS], predicted[TWOHOT_ROWS];
    fill_normal(logits, sizeof logits / sizeof *logits, 1.0f, 7);
    for (int r = 0; r < TWOHOT_ROWS; r++) twohot_encode(&twohot, encoded + r * 255, targets[r]);
    twohot_loss_forward(&twohot, ce, logits, targets, TWOHOT_ROWS);
    twohot_predict(&twohot, predicted, logits, TWOHOT_ROWS);
    const int64_t th_rows[1] = {TWOHOT_ROWS}, th_shape[2] = {TWOHOT_ROWS, 255};
    add(&t, "twohot.targets", targets, 1, th_rows), add(&t, "twohot.encoded", encoded, 2, th_shape);
    add(&t, "twohot.logits", logits, 2, th_shape), add(&t, "twohot.loss", ce, 1, th_rows);
    add(&t, "twohot.predicted", predicted, 1, th_rows);

    char texts[6][40];
    const double values[6] = {losses.loss, losses.image_nll, losses.reward_nll, losses.kl, losses.continue_nll,
                              (double)BATCH};
    for (int i = 0; i < 6; i++) snprintf(texts[i], sizeof texts[i], "%.17g", values[i]);
    char *yaml = config_to_yaml_string(&config);
    const WmMetaEntry meta[7] = {{"loss", texts[0]}, {"image_nll", texts[1]}, {"reward_nll", texts[2]},
                                 {"kl", texts[3]}, {"continue_nll", texts[4]}, {"batch", texts[5]},
                                 {"config", yaml}};
    const WmStatus status = safetensors_write(argv[1], t.refs, t.count, meta, 7, &err);
    if (status) fprintf(stderr, "elbo_dump: %s\n", err.message);
    free(yaml);
    world_model_free(&m);
    return status ? 1 : 0;
}
