#include "core/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

WmStatus fs_make_dirs(const char *path, WmError *err) {
    char buffer[4096];
    if (snprintf(buffer, sizeof buffer, "%s", path) >= (int)sizeof buffer)
        return wm_error_set(err, WM_ERR_ARG, "%s: path too long", path);
    for (char *p = buffer + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buffer, 0777) != 0 && errno != EEXIST)
                return wm_error_set(err, WM_ERR_IO, "%s: cannot create directory: %s", buffer, strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    if (!fs_is_dir(path)) return wm_error_set(err, WM_ERR_IO, "%s: exists and is not a directory", path);
    return WM_OK;
}

WmStatus fs_fsync_path(const char *path, WmError *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot open to sync: %s", path, strerror(errno));
    int failed = fsync(fd) != 0 && errno != EINVAL; /* some file systems cannot sync directories */
    int saved = errno;
    close(fd);
    if (failed) return wm_error_set(err, WM_ERR_IO, "%s: fsync failed: %s", path, strerror(saved));
    return WM_OK;
}

WmStatus fs_commit(const char *from, const char *to, WmError *err) {
    if (fs_fsync_path(from, err)) return err->status;
    if (rename(from, to) != 0)
        return wm_error_set(err, WM_ERR_IO, "%s: cannot rename to %s: %s", from, to, strerror(errno));
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", to);
    return fs_fsync_path(dirname(parent), err);
}

WmStatus fs_commit_stream(FILE *out, const char *tmp, const char *path, WmError *err) {
    if (fclose(out) != 0) {
        remove(tmp);
        return wm_error_set(err, WM_ERR_IO, "%s: write failed (disk full?)", tmp);
    }
    if (fs_commit(tmp, path, err)) remove(tmp);
    return err->status;
}

void fs_remove_shallow(const char *path) {
    if (!fs_is_dir(path)) {
        unlink(path);
        return;
    }
    char **names = NULL;
    int count = 0;
    WmError ignored = {0};
    if (fs_list_dir(path, &names, &count, &ignored) == WM_OK) {
        char child[4096];
        for (int i = 0; i < count; i++) {
            snprintf(child, sizeof child, "%s/%s", path, names[i]);
            unlink(child);
        }
        fs_free_list(names, count);
    }
    rmdir(path);
}

WmStatus fs_read_all(const char *path, char **data, size_t *size, WmError *err) {
    *data = NULL, *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return wm_error_set(err, WM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 1 << 16, used = 0;
    char *buffer = malloc(capacity);
    while (buffer != NULL) {
        used += fread(buffer + used, 1, capacity - used - 1, f);
        if (used < capacity - 1) break;
        char *grown = realloc(buffer, capacity * 2);
        if (grown == NULL) free(buffer);
        buffer = grown, capacity *= 2;
    }
    int read_failed = ferror(f);
    fclose(f);
    if (buffer == NULL) return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory", path);
    if (read_failed) {
        free(buffer);
        return wm_error_set(err, WM_ERR_IO, "%s: read error", path);
    }
    buffer[used] = '\0';
    *data = buffer, *size = used;
    return WM_OK;
}

static int not_dot(const struct dirent *entry) {
    return strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
}

/* strcmp order, not the locale's: scandir's alphasort would use strcoll. */
static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

WmStatus fs_list_dir(const char *path, char ***names, int *count, WmError *err) {
    *names = NULL, *count = 0;
    struct dirent **entries = NULL;
    const int found = scandir(path, &entries, not_dot, by_name);
    if (found < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot open directory: %s", path, strerror(errno));
    *names = calloc((size_t)found + 1, sizeof **names);
    for (int i = 0; i < found; i++) {
        if (*names && *count == i && ((*names)[i] = strdup(entries[i]->d_name)) != NULL) ++*count;
        free(entries[i]);
    }
    free(entries);
    if (*names == NULL || *count < found) {
        fs_free_list(*names, *count);
        *names = NULL, *count = 0;
        return wm_error_set(err, WM_ERR_NOMEM, "%s: out of memory listing", path);
    }
    return WM_OK;
}

void fs_free_list(char **names, int count) {
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

WmStatus fs_lock_try(const char *path, const char *owner, int *fd, char *holder, size_t holder_size, WmError *err) {
    *fd = -1;
    if (holder_size) holder[0] = '\0';
    /* close-on-exec: a child this process starts must not keep the lock alive after it. */
    const int opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (opened < 0) return wm_error_set(err, WM_ERR_IO, "%s: cannot open the lock: %s", path, strerror(errno));
    int locked;
    while ((locked = flock(opened, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (locked != 0) {
        const int saved = errno;
        const ssize_t got = holder_size ? pread(opened, holder, holder_size - 1, 0) : 0;
        close(opened);
        if (saved != EWOULDBLOCK) return wm_error_set(err, WM_ERR_IO, "%s: cannot lock: %s", path, strerror(saved));
        if (holder_size) {
            holder[got > 0 ? got : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
        }
        return WM_OK;
    }
    char line[256];
    const int length = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), owner);
    if (ftruncate(opened, 0) != 0 || pwrite(opened, line, (size_t)length, 0) != length) {
        const int saved = errno;
        close(opened);
        return wm_error_set(err, WM_ERR_IO, "%s: cannot write the lock: %s", path, strerror(saved));
    }
    *fd = opened;
    return WM_OK;
}

void fs_unlock(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}
