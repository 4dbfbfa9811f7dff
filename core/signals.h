/*
 * signals - the main thread receives TERM, INT, HUP and USR1 synchronously
 * (sigtimedwait); every other thread has them blocked. SIGPIPE is ignored:
 * a closed socket is an error return, never a dead daemon.
 */
#ifndef CORE_SIGNALS_H
#define CORE_SIGNALS_H

/* signals_setup - call before any thread is created. */
int signals_setup(void);

/* signals_wait - the next handled signal, or 0 after timeout_ms. */
int signals_wait(unsigned timeout_ms);

#endif
