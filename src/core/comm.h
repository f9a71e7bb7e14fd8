/* The ranks of a data-parallel job (MPI, when wm is built with it and started by mpirun) as a value the caller
 * owns: no hidden global. A process that mpirun did not start is rank 0 of 1, and every collective below is then
 * a no-op that returns at once, so code written for N ranks is the single-process code when N is 1.
 * Every collective must be called by all ranks in the same order; only the thread that joined calls them. */
#ifndef WM_CORE_COMM_H
#define WM_CORE_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int rank, size;
    int joined;             /* MPI was initialised by comm_join (and is finalised by comm_leave) */
    double reduce_seconds;  /* wall time spent in comm_average_floats, summed */
} WmComm;

/* Rank 0 of 1. */
WmComm comm_single(void);
/* Joins the job mpirun started (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE, in the environment); without
 * mpirun, or in a build without MPI, it is comm_single() and nothing is initialised. */
WmStatus comm_join(WmComm *comm, WmError *err);
void comm_leave(WmComm *comm);
/* Ends every rank of the job at once (a failed rank must not leave the others waiting in a collective). */
void comm_abort(const WmComm *comm, int code);

/* In place: data[i] = the mean over ranks of data[i]. The sum's order is MPI's and fixed for a given rank count,
 * and every rank receives the same bits. */
WmStatus comm_average_floats(WmComm *comm, float *data, size_t count, WmError *err);
WmStatus comm_average_doubles(const WmComm *comm, double *data, size_t count, WmError *err);
/* In place: the sum over ranks. */
WmStatus comm_sum_doubles(const WmComm *comm, double *data, size_t count, WmError *err);
/* Nonzero on every rank when `flag` is nonzero on any (a stop that all ranks take at the same step). */
int comm_any(const WmComm *comm, int flag);
/* Whether `value` is the same on every rank. */
WmStatus comm_same(const WmComm *comm, uint64_t value, int *same, WmError *err);
/* Rank 0 receives every rank's `bytes` of `mine`, in rank order, in `all` (size x bytes; may be NULL elsewhere). */
WmStatus comm_gather(const WmComm *comm, const void *mine, size_t bytes, void *all, WmError *err);
WmStatus comm_barrier(const WmComm *comm, WmError *err);

#endif
