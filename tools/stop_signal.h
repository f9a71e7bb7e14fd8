/* SIGINT, SIGTERM and SIGHUP as a request to stop: the command finishes what is in hand (a training step and its
 * checkpoint, a frame, a decision) and exits 0 with its summary. A second signal exits at once with 1; what is on
 * disk is whole either way, since every file is renamed into place.
 *
 * The signals are blocked in the calling thread, and so in every thread it starts afterwards (OpenMP's, oneDNN's,
 * MPI's), and taken by one watcher thread with sigwait: no thread that computes is ever interrupted by them. Call
 * it first, before anything starts a thread. */
#ifndef WM_TOOLS_STOP_SIGNAL_H
#define WM_TOOLS_STOP_SIGNAL_H

/* `wake_reader`: a command whose main thread blocks reading input (wm plan on a pipe) is woken from that read by
 * SIGUSR1 after the first stop signal, so its read returns EINTR instead of waiting for more input. */
void stop_signal_install(int wake_reader);
int stop_signal_received(void);

#endif
