/* A progress line that rewrites itself on a terminal, cut to the terminal's width, and stays silent in logs
 * (stderr is not a tty): there the commands print plain lines at their own pace instead. */
#ifndef WM_TOOLS_PROGRESS_H
#define WM_TOOLS_PROGRESS_H

int progress_is_terminal(void);
void progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

#endif
