/* The .npz episode in the PlaNet/Dreamer layout: image uint8 (T,H,W,3), action float32 (T,A), reward float32 (T),
 * optional discount, is_first, is_terminal. Reads what numpy's savez and savez_compressed write. */
#ifndef WM_DATA_EPISODE_NPZ_H
#define WM_DATA_EPISODE_NPZ_H

#include "data/episode.h"

WmStatus episode_read_npz(const char *path, WmFrameSize *size, WmEpisode *episode, WmError *err);
/* compress: 0 stores the arrays (np.savez), 1 deflates them (np.savez_compressed). Atomic, refuses to overwrite. */
WmStatus episode_write_npz(const char *path, const WmEpisode *episode, int compress, WmError *err);

#endif
