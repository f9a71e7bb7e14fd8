/* The ranks over MPI (Open MPI from Debian). Only the thread that joined calls MPI (MPI_THREAD_FUNNELED): OpenMP
 * threads compute, the main thread exchanges between steps. */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/comm.h"

WmComm comm_single(void) { return (WmComm){0, 1, 0, 0.0}; }

static int started_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

static WmStatus check(int code, const char *what, WmError *err) {
    if (code == MPI_SUCCESS) return WM_OK;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    return wm_error_set(err, WM_ERR_IO, "MPI %s: %s", what, text);
}

WmStatus comm_join(WmComm *comm, WmError *err) {
    *comm = comm_single();
    if (!started_by_mpirun()) return WM_OK;
    int provided = 0;
    if (check(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "init", err)) return err->status;
    comm->joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &comm->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &comm->size);
    if (provided < MPI_THREAD_FUNNELED)
        return wm_error_set(err, WM_ERR_IO, "MPI offers no thread support (wm's OpenMP threads need FUNNELED)");
    return WM_OK;
}

void comm_leave(WmComm *comm) {
    if (comm->joined) MPI_Finalize();
    comm->joined = 0;
}

void comm_abort(const WmComm *comm, int code) {
    if (comm->joined && comm->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

/* MPI counts are ints: a long buffer goes in pieces. */
static WmStatus sum_in_place(void *data, size_t count, MPI_Datatype type, size_t item, WmError *err) {
    for (size_t done = 0; done < count;) {
        const size_t piece = count - done < (size_t)INT_MAX ? count - done : (size_t)INT_MAX;
        if (check(MPI_Allreduce(MPI_IN_PLACE, (char *)data + done * item, (int)piece, type, MPI_SUM, MPI_COMM_WORLD),
                  "allreduce", err))
            return err->status;
        done += piece;
    }
    return WM_OK;
}

WmStatus comm_average_floats(WmComm *comm, float *data, size_t count, WmError *err) {
    if (comm->size == 1) return WM_OK;
    const double start = wm_clock_seconds();
    if (sum_in_place(data, count, MPI_FLOAT, sizeof *data, err)) return err->status;
    const float scale = 1.0f / (float)comm->size;
    for (size_t i = 0; i < count; i++) data[i] *= scale;
    comm->reduce_seconds += wm_clock_seconds() - start;
    return WM_OK;
}

WmStatus comm_sum_doubles(const WmComm *comm, double *data, size_t count, WmError *err) {
    if (comm->size == 1) return WM_OK;
    return sum_in_place(data, count, MPI_DOUBLE, sizeof *data, err);
}

WmStatus comm_average_doubles(const WmComm *comm, double *data, size_t count, WmError *err) {
    if (comm->size == 1) return WM_OK;
    if (comm_sum_doubles(comm, data, count, err)) return err->status;
    for (size_t i = 0; i < count; i++) data[i] /= comm->size;
    return WM_OK;
}

int comm_any(const WmComm *comm, int flag) {
    if (comm->size == 1) return flag != 0;
    int any = flag != 0;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return any;
}

WmStatus comm_same(const WmComm *comm, uint64_t value, int *same, WmError *err) {
    *same = 1;
    if (comm->size == 1) return WM_OK;
    uint64_t low = value, high = value;
    if (check(MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "allreduce", err) ||
        check(MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "allreduce", err))
        return err->status;
    *same = low == high;
    return WM_OK;
}

WmStatus comm_gather(const WmComm *comm, const void *mine, size_t bytes, void *all, WmError *err) {
    if (comm->size == 1) {
        if (all) memcpy(all, mine, bytes);
        return WM_OK;
    }
    if (bytes > (size_t)INT_MAX) return wm_error_set(err, WM_ERR_ARG, "MPI gather: %zu bytes is too many", bytes);
    return check(MPI_Gather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD), "gather", err);
}

WmStatus comm_barrier(const WmComm *comm, WmError *err) {
    if (comm->size == 1) return WM_OK;
    return check(MPI_Barrier(MPI_COMM_WORLD), "barrier", err);
}
