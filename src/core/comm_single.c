/* A build without MPI: one rank, and the collectives have nothing to exchange. */
#include <stdlib.h>
#include <string.h>

#include "core/comm.h"

WmComm comm_single(void) { return (WmComm){0, 1, 0, 0.0}; }

/* The job size mpirun announces, or 1. */
static long launched_ranks(void) {
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *text = getenv(names[i]);
        if (text) return strtol(text, NULL, 10);
    }
    return 1;
}

WmStatus comm_join(WmComm *comm, WmError *err) {
    *comm = comm_single();
    /* N copies of a build without MPI would each train alone into the same run directory. */
    if (launched_ranks() > 1)
        return wm_error_set(err, WM_ERR_ARG, "mpirun started %ld copies of a wm built without MPI; install "
                            "libopenmpi-dev (tools/deps.sh does) and rebuild, or run one process", launched_ranks());
    return WM_OK;
}

void comm_leave(WmComm *comm) { (void)comm; }
void comm_abort(const WmComm *comm, int code) { (void)comm, (void)code; }

WmStatus comm_average_floats(WmComm *comm, float *data, size_t count, WmError *err) {
    (void)comm, (void)data, (void)count, (void)err;
    return WM_OK;
}

WmStatus comm_average_doubles(const WmComm *comm, double *data, size_t count, WmError *err) {
    (void)comm, (void)data, (void)count, (void)err;
    return WM_OK;
}

WmStatus comm_sum_doubles(const WmComm *comm, double *data, size_t count, WmError *err) {
    (void)comm, (void)data, (void)count, (void)err;
    return WM_OK;
}

int comm_any(const WmComm *comm, int flag) {
    (void)comm;
    return flag != 0;
}

WmStatus comm_same(const WmComm *comm, uint64_t value, int *same, WmError *err) {
    (void)comm, (void)value, (void)err;
    *same = 1;
    return WM_OK;
}

WmStatus comm_gather(const WmComm *comm, const void *mine, size_t bytes, void *all, WmError *err) {
    (void)comm, (void)err;
    if (all) memcpy(all, mine, bytes);
    return WM_OK;
}

WmStatus comm_barrier(const WmComm *comm, WmError *err) {
    (void)comm, (void)err;
    return WM_OK;
}
