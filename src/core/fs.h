/* Files that are never torn: everything durable (episodes, checkpoints) is written under a temporary name,
 * fsynced, renamed over the final name, and the directory fsynced, so a crash leaves the old file or the new one. */
#ifndef WM_CORE_FS_H
#define WM_CORE_FS_H

#include <stddef.h>

#include <stdio.h>

#include "core/error.h"

int fs_exists(const char *path);
int fs_is_dir(const char *path);
/* mkdir -p. */
WmStatus fs_make_dirs(const char *path, WmError *err);
WmStatus fs_fsync_path(const char *path, WmError *err);
/* fsyncs `from` (file or directory), renames it to `to`, fsyncs the parent directory of `to`. */
WmStatus fs_commit(const char *from, const char *to, WmError *err);
/* Closes `out`, written at `tmp`, and commits it to `path`; on any failure `tmp` is removed, so no .tmp survives. */
WmStatus fs_commit_stream(FILE *out, const char *tmp, const char *path, WmError *err);
/* Removes a file, or a directory and the files in it (one level: a temporary episode directory). */
void fs_remove_shallow(const char *path);
/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience). */
WmStatus fs_read_all(const char *path, char **data, size_t *size, WmError *err);
/* The directory's entries, sorted by name, "." and ".." left out; free with fs_free_list. */
WmStatus fs_list_dir(const char *path, char ***names, int *count, WmError *err);
void fs_free_list(char **names, int count);

/* An advisory lock (flock) on `path`, created if missing, held while `*fd` stays open: the kernel frees it when
 * the holder exits, however it ends, so a lock left by a dead process is no obstacle. Taken: *fd >= 0, and the
 * file holds this process's pid and `owner`. Held by another process: *fd = -1, `holder` gets what that process
 * wrote ("pid owner"; empty if it has not written yet), and the result is still WM_OK. */
WmStatus fs_lock_try(const char *path, const char *owner, int *fd, char *holder, size_t holder_size, WmError *err);
void fs_unlock(int *fd);

#endif
