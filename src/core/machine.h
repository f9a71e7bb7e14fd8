/* What this process runs on, to key choices made by measuring: the CPU's model name and the build of the running
 * program. */
#ifndef WM_CORE_MACHINE_H
#define WM_CORE_MACHINE_H

#include <stddef.h>

/* /proc/cpuinfo's first "model name" ("unknown CPU" when there is none). */
void machine_cpu_model(char *out, size_t size);
/* The running executable's size and modification time, "SIZE-MTIME": any rebuild changes it. */
void machine_build_id(char *out, size_t size);

#endif
