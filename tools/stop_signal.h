/* SIGINT, SIGTERM and SIGHUP as a request to stop: the command finishes what is in hand (a training step and its
 * checkpoint, a frame, a decision) and exits 0 with its summary. A second signal exits at once with 1; what is on
 * disk is whole either way, since every file is renamed into place.
 *
 * The signals are blocked in the calling thread, and so in every thread it starts afterwards (OpenMP's, oneDNN's,
 * MPI's), and taken by one watcher thread with sigwait: no thread that computes is ever interrupted by them, and
 * no read is either (one that waits for input polls stop_signal_received instead). Call it first, before anything
 * starts a thread. */
#ifndef WM_TOOLS_STOP_SIGNAL_H
#define WM_TOOLS_STOP_SIGNAL_H

void stop_signal_install(void);
int stop_signal_received(void);

#endif
