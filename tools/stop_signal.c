#include "stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static atomic_int signals_received;
static sigset_t stop_set;

static void count_signal(void) {
    if (atomic_fetch_add(&signals_received, 1) > 0) _exit(1);
}

/* Where a stop signal still reaches a thread (one started before the watcher, by a library's constructor): the
 * same count. */
static void on_stop_signal(int signal_number) {
    (void)signal_number;
    count_signal();
}

static void *watch(void *unused) {
    (void)unused;
    for (;;) {
        int number;
        if (sigwait(&stop_set, &number) == 0) count_signal();
    }
    return NULL;
}

void stop_signal_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_stop_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, watch, NULL) == 0) pthread_detach(watcher);
    else pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL); /* no watcher: the handler takes them */
}

int stop_signal_received(void) { return atomic_load(&signals_received) > 0; }
