"""The embeddable policy as a user gets it: `meson install` into a temporary root, the README's example compiled
against the installed wm.h and libwm through pkg-config, and run on a tiny run trained with the installed wm; the
man pages and the configs are installed too. Args: build root, source root, prefix, libdir, b_sanitize."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from wm_peer import TINY, check, failures

build, source, prefix, libdir, sanitize = sys.argv[1:6]
tmp = tempfile.mkdtemp(prefix="wm_install_")
root = os.path.join(tmp, "root")
r = subprocess.run(["meson", "install", "-C", build, "--destdir", root, "--no-rebuild", "--quiet"], capture_output=True,
                   text=True)
check(r.returncode == 0, "meson install into a temporary root: " + (r.stderr.strip() or "ok"))
installed = root + prefix
lib = os.path.join(installed, libdir)
# Every budget under configs/ is installed, so a budget added there without its line in meson.build fails here.
configs = ["share/wm/configs/" + name for name in sorted(os.listdir(os.path.join(source, "configs")))
           if name.endswith(".yaml")]
for path in ["bin/wm", "bin/wm-viz", "include/wm.h", "share/man/man1/wm.1", "share/man/man1/wm-viz.1"] + configs:
    check(os.path.exists(os.path.join(installed, path)), "installed " + path)
check(os.path.exists(os.path.join(lib, "pkgconfig", "wm.pc")), "installed the pkg-config file wm.pc")

readme = open(os.path.join(source, "README.md")).read()
example = re.search(r"<!-- example: act\.c[^\n]*-->\n```c\n(.*?)```", readme, re.S)
check(example is not None, "the README holds the example")
with open(os.path.join(tmp, "act.c"), "w") as f:
    f.write(example.group(1))
env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=root, PKG_CONFIG_PATH=os.path.join(lib, "pkgconfig"))
flags = subprocess.run(["pkg-config", "--cflags", "--libs", "wm"], capture_output=True, text=True, env=env)
check(flags.returncode == 0, "pkg-config --cflags --libs wm: " + flags.stdout.strip())
extra = ["-fsanitize=" + sanitize] if sanitize not in ("", "none") else []
r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(tmp, "act.c"), "-o",
                    os.path.join(tmp, "act"), "-Wl,-rpath," + lib] + extra + flags.stdout.split(),
                   capture_output=True, text=True)
check(r.returncode == 0, "the example compiles against the installed files: " + (r.stderr.strip() or "clean"))

wm = os.path.join(installed, "bin", "wm")
data, run = os.path.join(tmp, "data"), os.path.join(tmp, "run")
subprocess.run([wm, "collect", "--env", "cartpole-swingup", "--episodes", "2", "--out", data, "--seed", "3"],
               capture_output=True, text=True)
args = [wm, "train", "--run", run, "--data", data, "--steps", "3", "--threads", "2"]
for s in TINY + ["actor.enabled=true", "actor.layers=1", "actor.units=8", "actor.value_layers=1",
                 "actor.value_units=8", "actor.horizon=3"]:
    args += ["--set", s]
r = subprocess.run(args, capture_output=True, text=True)
check(r.returncode == 0, "the installed wm trains a tiny run with the actor: " + r.stderr.strip().splitlines()[-1])
for planner in ["actor", "cem"]:
    r = subprocess.run([os.path.join(tmp, "act"), run, planner], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    lines = r.stdout.strip().splitlines()
    ok = r.returncode == 0 and len(lines) == 5 and all(len(l.split()) == 1 and -1 <= float(l) <= 1 for l in lines)
    check(ok, f"the example acts with the {planner}: 5 actions in [-1, 1]: {' '.join(lines)} {r.stderr.strip()}")
r = subprocess.run([os.path.join(tmp, "act"), os.path.join(tmp, "nope")], capture_output=True, text=True)
check(r.returncode == 1 and "no such run directory" in r.stderr, "a missing run: " + r.stderr.strip())

# A model that takes a state vector beside each frame: the same episodes with three state columns in steps.csv,
# trained by the installed wm, then wm_agent_act_state from a program of its own.
states_data = os.path.join(tmp, "states_data")
shutil.copytree(data, states_data)
for name in sorted(n for n in os.listdir(states_data) if n.startswith("episode_")):
    csv = os.path.join(states_data, name, "steps.csv")
    rows = open(csv).read().strip().split("\n")
    rows = [rows[0] + ",state_0,state_1,state_2"] + [f"{row},{i * 0.5},{-3.0 * i},7" for i, row in enumerate(rows[1:])]
    open(csv, "w").write("\n".join(rows) + "\n")
states_run = os.path.join(tmp, "states_run")
args = [wm, "train", "--run", states_run, "--data", states_data, "--steps", "2", "--threads", "2"]
for s in TINY:
    args += ["--set", s]
r = subprocess.run(args, capture_output=True, text=True)
check(r.returncode == 0, "the installed wm trains on frames with states: " + r.stderr.strip().splitlines()[-1])
with open(os.path.join(tmp, "act_state.c"), "w") as f:
    f.write(r"""#include <math.h>
#include <stdio.h>
#include <wm.h>
int main(int argc, char **argv) {
    wm_agent *agent;
    char error[256];
    if (argc < 2 || wm_agent_open(&agent, argv[1], "cem", 1, error, sizeof error) != 0) return 1;
    static uint8_t rgb[64 * 64 * 3];
    float action[4], state[3] = {0.5f, -3.0f, 7.0f};
    printf("state_dim %d\n", wm_agent_state_dim(agent));
    printf("without %d %s\n", wm_agent_act(agent, rgb, 64, 64, action, 4), wm_agent_error(agent));
    for (int i = 0; i < 3; i++) {
        const int got = wm_agent_act_state(agent, rgb, 64, 64, state, 3, action, 4);
        printf("with %d %f\n", got, got > 0 ? action[0] : 9.0f);
    }
    state[1] = NAN;
    printf("nan %d %s\n", wm_agent_act_state(agent, rgb, 64, 64, state, 3, action, 4), wm_agent_error(agent));
    wm_agent_close(agent);
    return 0;
}
""")
r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(tmp, "act_state.c"), "-o",
                    os.path.join(tmp, "act_state"), "-Wl,-rpath," + lib] + extra + flags.stdout.split(),
                   capture_output=True, text=True)
check(r.returncode == 0, "a program calling wm_agent_act_state compiles: " + (r.stderr.strip() or "clean"))
r = subprocess.run([os.path.join(tmp, "act_state"), states_run], capture_output=True, text=True,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
out = r.stdout.strip().splitlines()
withs = [l.split() for l in out if l.startswith("with ")]
check(r.returncode == 0 and out[:1] == ["state_dim 3"] and len(withs) == 3
      and all(w[1] == "1" and -1 <= float(w[2]) <= 1 for w in withs),
      f"wm_agent_act_state acts on a frame and its state: {out} {r.stderr.strip()}")
check(any(l.startswith("without -1") and "wm_agent_act_state" in l for l in out),
      f"wm_agent_act without the state names wm_agent_act_state: {out}")
check(any(l.startswith("nan -1") and "state[1] is not finite" in l for l in out), f"a NaN state is refused: {out}")
shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
