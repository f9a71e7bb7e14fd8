#include "ops/grid.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stddef.h>

static WmStatus check_sgemm(dnnl_status_t status, WmError *err) {
    if (status != dnnl_success) return wm_error_set(err, WM_ERR_DNNL, "grid: dnnl_sgemm: %s", dnnl_status2str(status));
    return WM_OK;
}

WmStatus grid_forward(const WmGridShape *s, float *y, const float *x, const float *weight, const float *bias,
                      float *scratch, WmError *err) {
    const int I = s->in, O = s->out_channels, KK = s->kernel * s->kernel, width = O * KK;
    /* scratch (I, O KK) <- weight (O, I, KK) */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < I; i++)
        for (int o = 0; o < O; o++)
            for (int k = 0; k < KK; k++) scratch[(size_t)i * width + o * KK + k] = weight[((size_t)o * I + i) * KK + k];
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s->batch; n++)
        for (int o = 0; o < O; o++)
            for (int k = 0; k < KK; k++) y[(size_t)n * width + o * KK + k] = bias[o];
    return check_sgemm(dnnl_sgemm('N', 'N', s->batch, width, I, 1.0f, x, I, scratch, width, 1.0f, y, width), err);
}

WmStatus grid_backward(const WmGridShape *s, float *dx, float *dweight, float *dbias, const float *dy,
                       const float *x, const float *weight, float *scratch, WmError *err) {
    const int I = s->in, O = s->out_channels, KK = s->kernel * s->kernel, width = O * KK;
    if (dx != NULL) {
        /* dx (N, I) += dy (N, O KK) . weight viewed as (O, I, KK): one sgemm per output channel would be narrow, so
         * the permuted weights again. */
#pragma omp parallel for schedule(static)
        for (int i = 0; i < I; i++)
            for (int o = 0; o < O; o++)
                for (int k = 0; k < KK; k++)
                    scratch[(size_t)i * width + o * KK + k] = weight[((size_t)o * I + i) * KK + k];
        if (check_sgemm(dnnl_sgemm('N', 'T', s->batch, I, width, 1.0f, dy, width, scratch, width, 1.0f, dx, I), err))
            return err->status;
    }
    /* scratch (I, O KK) = x^T dy, then added into dweight's (O, I, KK) order. */
    if (check_sgemm(dnnl_sgemm('T', 'N', I, width, s->batch, 1.0f, x, I, dy, width, 0.0f, scratch, width), err))
        return err->status;
#pragma omp parallel for schedule(static)
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int k = 0; k < KK; k++) dweight[((size_t)o * I + i) * KK + k] += scratch[(size_t)i * width + o * KK + k];
    /* dbias[o] += sum over n and k; in a fixed order, so it is the same on any thread count. */
#pragma omp parallel for schedule(static)
    for (int o = 0; o < O; o++) {
        double sum = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (int k = 0; k < KK; k++) sum += dy[(size_t)n * width + o * KK + k];
        dbias[o] += (float)sum;
    }
    return WM_OK;
}
