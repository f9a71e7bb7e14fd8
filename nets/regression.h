/* How an MLP's output is read as one number per row (a reward, a value):
 *   gaussian: the output is the number, trained by its log-likelihood with std 1 (PlaNet's reward head, Dreamer
 *             V1's value: a squared error);
 *   twohot:   the output is 255 logits over bins evenly spaced in symlog space on [-20, 20], trained by the
 *             cross-entropy with the twohot target, read as symexp of the expected bin (DreamerV3, ops/twohot.h).
 *             Its output layer starts at zero, so the first predictions are 0 whatever the scale of the targets. */
#ifndef WM_NETS_REGRESSION_H
#define WM_NETS_REGRESSION_H

#include "config/config.h"
#include "core/arena.h"
#include "core/params.h"
#include "nets/mlp.h"
#include "ops/twohot.h"

typedef struct {
    WmRegressionChoice kind;
    WmTwohot twohot;
} WmRegression;

WmRegression regression_make(WmRegressionChoice kind);
/* The MLP's output width: 1, or the bins. */
int regression_outputs(const WmRegression *r);
/* Zeroes a twohot head's output layer (after the Glorot initialisation). */
void regression_init(const WmRegression *r, const WmMlp *mlp, WmParams *params);

/* The output read as numbers: the output itself (Gaussian), or the prediction in an array from the arena (NULL
 * when the arena is out of memory: arena_check says so). */
const float *regression_read(const WmRegression *r, WmArena *arena, const float *out, int batch);
/* dout (batch, outputs) += the gradient through the prediction of dy (batch). */
void regression_predict_backward(const WmRegression *r, float *dout, const float *dy, const float *out, int batch);
/* loss (batch): each row's negative log-likelihood of its target, without the Gaussian's constant: 0.5 (y - t)^2,
 * or the cross-entropy. */
void regression_loss_forward(const WmRegression *r, float *loss, const float *out, const float *targets, int batch);
/* dout += dloss[row] times each row's loss gradient; dloss (batch). */
void regression_loss_backward(const WmRegression *r, float *dout, const float *dloss, const float *out,
                              const float *targets, int batch);

#endif
