#include "ops/linear.h"

#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

static WmStatus sgemm(char ta, char tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc, WmError *err) {
    dnnl_status_t status = dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    if (status != dnnl_success)
        return wm_error_set(err, WM_ERR_DNNL, "dnnl_sgemm(%c%c, %d x %d x %d): %s", ta, tb, m, n, k,
                            dnnl_status2str(status));
    return WM_OK;
}

WmStatus linear_forward(float *y, const float *x, const float *weight, const float *bias, int batch, int in,
                        int out, WmError *err) {
    /* Rows start as the bias and sgemm adds the product (beta = 1). */
    for (int b = 0; bias != NULL && b < batch; b++) memcpy(y + (size_t)b * out, bias, (size_t)out * sizeof *y);
    return sgemm('N', 'T', batch, out, in, x, in, weight, in, bias != NULL ? 1.0f : 0.0f, y, out, err);
}

WmStatus linear_backward(float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                         const float *weight, int batch, int in, int out, WmError *err) {
    WmStatus status = WM_OK;
    if (dx != NULL) status = sgemm('N', 'N', batch, in, out, dy, out, weight, in, 1.0f, dx, in, err);
    if (status == WM_OK && dweight != NULL)
        status = sgemm('T', 'N', out, in, batch, dy, out, x, in, 1.0f, dweight, in, err);
    if (status != WM_OK) return status;
    if (dbias != NULL) {
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < out; o++) dbias[o] += dy[(size_t)b * out + o];
    }
    return WM_OK;
}
