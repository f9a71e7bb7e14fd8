#include "nets/latent.h"

#include <stdio.h>
#include <string.h>

#include "ops/categorical.h"
#include "ops/loss.h"
#include "ops/sample.h"

static int categorical(const WmLatent *latent) { return latent->kind == WM_LATENT_CATEGORICAL; }

WmLatent latent_from_config(const WmModelSection *net) {
    const int classes = net->latent == WM_LATENT_CATEGORICAL ? (int)net->classes : 1;
    return (WmLatent){net->latent, (int)net->stoch * classes, classes, (float)net->min_std, (float)net->unimix};
}

WmStatus latent_head_declare(const WmLatent *latent, WmLatentHead *head, WmParams *params, const char *name, int in,
                             int hidden, WmLayerStyle style, WmError *err) {
    char path[WM_PARAM_NAME_MAX];
    memset(head, 0, sizeof *head);
    snprintf(path, sizeof path, "%s.hidden", name);
    dense_declare_styled(&head->hidden, params, path, in, hidden, style, err);
    if (!categorical(latent)) {
        snprintf(path, sizeof path, "%s.mean", name);
        dense_declare(&head->mean, params, path, hidden, latent->width, WM_ACT_NONE, err);
    }
    snprintf(path, sizeof path, "%s.%s", name, categorical(latent) ? "logits" : "std");
    return dense_declare(&head->raw, params, path, hidden, latent->width, WM_ACT_NONE, err);
}

WmStatus latent_head_forward(const WmLatent *latent, const WmLatentHead *head, const WmParams *params,
                             const float *input, float *hidden, float *cache, float *mean, float *raw, float *std,
                             int batch, WmError *err) {
    if (dense_forward_cached(&head->hidden, params, hidden, cache, input, batch, err) ||
        (!categorical(latent) && dense_forward(&head->mean, params, mean, hidden, batch, err)) ||
        dense_forward(&head->raw, params, raw, hidden, batch, err))
        return err->status;
    if (categorical(latent)) latent_mean_from_raw(latent, mean, raw, (size_t)batch);
    else gauss_sample_forward(NULL, std, mean, raw, NULL, (size_t)batch * latent->width, latent->min_std);
    return WM_OK;
}

WmStatus latent_head_backward(const WmLatent *latent, const WmLatentHead *head, WmParams *params, float *dinput,
                              float *dmean, float *dstd, const float *input, const float *hidden, const float *cache,
                              const float *mean, const float *raw, float *dhidden, float *draw, int batch,
                              WmError *err) {
    const size_t n = (size_t)batch * latent->width;
    memset(draw, 0, n * sizeof *draw);
    memset(dhidden, 0, (size_t)batch * head->hidden.out * sizeof *dhidden);
    if (categorical(latent)) {
        categorical_probs_backward(draw, dmean, mean, n / latent->classes, latent->classes, latent->unimix);
    } else {
        gauss_sample_backward(NULL, draw, NULL, dstd, raw, NULL, n);
        if (dense_backward(&head->mean, params, dhidden, dmean, hidden, NULL, NULL, batch, err)) return err->status;
    }
    if (dense_backward(&head->raw, params, dhidden, draw, hidden, NULL, NULL, batch, err)) return err->status;
    return dense_backward(&head->hidden, params, dinput, dhidden, input, hidden, cache, batch, err);
}

void latent_sample(const WmLatent *latent, float *z, const float *mean, const float *std, const float *noise,
                   size_t rows) {
    const size_t n = rows * latent->width;
    if (categorical(latent)) {
        categorical_sample_forward(z, mean, noise, n / latent->classes, latent->classes);
        return;
    }
    for (size_t i = 0; i < n; i++) z[i] = mean[i] + std[i] * noise[i];
}

void latent_sample_backward(const WmLatent *latent, float *dmean, float *dstd, const float *dz, const float *noise,
                            size_t rows) {
    const size_t n = rows * latent->width;
    for (size_t i = 0; i < n; i++) dmean[i] += dz[i];
    if (!categorical(latent))
        for (size_t i = 0; i < n; i++) dstd[i] += dz[i] * noise[i];
}

void latent_mode(const WmLatent *latent, float *z, const float *mean, size_t rows) {
    const size_t n = rows * latent->width;
    if (categorical(latent)) categorical_mode(z, mean, n / latent->classes, latent->classes);
    else memcpy(z, mean, n * sizeof *z);
}

void latent_mean_from_raw(const WmLatent *latent, float *mean, const float *raw, size_t rows) {
    const size_t groups = rows * latent->width / latent->classes;
    categorical_probs_forward(mean, raw, groups, latent->classes, latent->unimix);
}

void latent_kl_forward(const WmLatent *latent, float *kl, const float *mean_q, const float *std_q,
                       const float *mean_p, const float *std_p, int rows) {
    if (categorical(latent)) kl_categorical_forward(kl, mean_q, mean_p, rows, latent->width);
    else kl_diag_gauss_forward(kl, mean_q, std_q, mean_p, std_p, rows, latent->width);
}

void latent_kl_backward(const WmLatent *latent, float *dmean_q, float *dstd_q, float *dmean_p, float *dstd_p,
                        const float *dkl, const float *mean_q, const float *std_q, const float *mean_p,
                        const float *std_p, int rows) {
    if (categorical(latent)) kl_categorical_backward(dmean_q, dmean_p, dkl, mean_q, mean_p, rows, latent->width);
    else kl_diag_gauss_backward(dmean_q, dstd_q, dmean_p, dstd_p, dkl, mean_q, std_q, mean_p, std_p, rows,
                                latent->width);
}
