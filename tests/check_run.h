/* Every Check suite ends the same way: run it, report, and fail the process when anything failed. */
#ifndef WM_TESTS_CHECK_RUN_H
#define WM_TESTS_CHECK_RUN_H

#include <check.h>

/* Runs the suite (taking ownership) and returns EXIT_SUCCESS or EXIT_FAILURE for main. */
int check_run(Suite *suite);

#endif
