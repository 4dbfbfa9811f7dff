/* signals.c - synchronous signal handling for the main loop. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "signals.h"

/* signals_handled - the set the main loop waits for */
static void signals_handled(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

int signals_setup(void)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -errno;
    /* Threads inherit this mask, so only sigtimedwait() sees these. */
    signals_handled(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
}

int signals_wait(unsigned timeout_ms)
{
    sigset_t set;
    struct timespec ts = { .tv_sec = timeout_ms / 1000,
                           .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };

    signals_handled(&set);
    int sig = sigtimedwait(&set, NULL, &ts);
    return sig < 0 ? 0 : sig;
}
