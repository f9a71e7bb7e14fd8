#ifndef WM_CORE_CLOCK_H
#define WM_CORE_CLOCK_H

/* Monotonic seconds, for timing and progress only: never feeds into numbers that must be reproducible. */
double wm_clock_seconds(void);

#endif
