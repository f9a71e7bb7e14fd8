/* A progress line that rewrites itself on a terminal and stays silent in logs (stderr is not a tty). */
#ifndef WM_TOOLS_PROGRESS_H
#define WM_TOOLS_PROGRESS_H

void progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

#endif
