"""The environment protocol from outside: wm collect, train and eval against a point mass written here in Python
(tests/env_point_mass.py, numpy only), through a pipe (exec:) and a TCP socket (tcp:). Each malformed message, a
closed pipe, an error from the environment and one that stops answering gets one line naming it, a non-zero exit,
and the episodes recorded before it stay whole. Args: wm."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from wm_peer import check, failures

WM = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = f"{sys.executable} {os.path.join(HERE, 'env_point_mass.py')}"
tmp = tempfile.mkdtemp(prefix="wm_protocol_")
ONLINE = ["model.depth=4", "model.deter=16", "model.stoch=4", "model.hidden=16", "model.reward_layers=1",
          "model.reward_units=16", "data.batch=3", "data.length=8", "run.log_every=1", "run.checkpoint_every=2",
          "online.seed_episodes=1", "online.steps_per_episode=2", "plan.candidates=50", "plan.top_k=10",
          "plan.iterations=2", "plan.horizon=4"]


def run(*args, timeout=300):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def train_args(run_dir, env, steps, extra=()):
    """wm train online in `env` with the tiny model of ONLINE and the `extra` keys."""
    args = [WM, "train", "--run", run_dir, "--env", env, "--steps", str(steps), "--threads", "2"]
    for s in ONLINE + list(extra):
        args += ["--set", s]
    return args


def start_until_episode(args, run_dir, index, **popen):
    """Starts `args` and returns once episode `index` is on disk (or the process ended, or two minutes passed)."""
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, **popen)
    path = os.path.join(run_dir, "episodes", "episode_%06d" % index)
    deadline = time.time() + 120
    while not os.path.exists(path) and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    return p


def episode_texts(run_dir):
    """Each whole episode's steps.csv, by name."""
    d = os.path.join(run_dir, "episodes")
    return {n: open(os.path.join(d, n, "steps.csv")).read() for n in os.listdir(d) if not n.endswith(".tmp")}


def episodes(out):
    """Each recorded episode's rows (steps.csv without its header)."""
    if not os.path.isdir(out):
        return []
    rows = []
    for name in sorted(os.listdir(out)):
        steps = os.path.join(out, name, "steps.csv")
        if name.startswith("episode_") and os.path.exists(steps):
            lines = open(steps).read().splitlines()
            frames = [f for f in os.listdir(os.path.join(out, name)) if f.endswith(".png")]
            check(len(frames) == len(lines) - 1, f"{name}: {len(frames)} frames for {len(lines) - 1} rows")
            rows.append([l.split(",") for l in lines[1:]])
    return rows


def collect(env, out, count, *extra):
    return run(WM, "collect", "--env", env, "--episodes", str(count), "--out", out, *extra)


# The happy path: episodes of at most 50 steps, ended by the time limit or by reaching the goal (terminal).
out = os.path.join(tmp, "happy")
r = collect(f"exec:{ENV}", out, 4)
eps = episodes(out)
check(r.returncode == 0 and len(eps) == 4, f"exec: collect 4 episodes: exit {r.returncode} {r.stderr.strip()[-200:]}")
check(all(2 <= len(e) <= 51 for e in eps), f"episode lengths {[len(e) for e in eps]} within the 50-step limit")
check(all(e[0][3] == "1" and all(row[3] == "0" for row in e[1:]) for e in eps), "is_first only on row 0")
check(all(all(row[4] == "0" for row in e[:-1]) for e in eps), "is_terminal only ever on an episode's last row")
check(all(len(e) == 51 or e[-1][4] == "1" for e in eps), "a short episode ended terminal")
check(all(-1.0 <= float(a) <= 1.0 for e in eps for row in e for a in row[:2]), "actions in [-1, 1]")
header = open(os.path.join(out, "episode_000000", "steps.csv")).readline().strip()
check(header == "action_0,action_1,reward,is_first,is_terminal,state_0,state_1,state_2,state_3",
      f"the states are recorded beside the frames: {header}")
# The state is the environment's: position then velocity, the first velocity 0 (a reset), positions in [-1, 1].
check(all(float(e[0][7]) == 0.0 and float(e[0][8]) == 0.0 for e in eps), "each episode starts at rest")
check(all(-1.0 <= float(row[5]) <= 1.0 and -1.0 <= float(row[6]) <= 1.0 for e in eps for row in e),
      "positions in [-1, 1]")
out = os.path.join(tmp, "happy_npz")
r = collect(f"exec:{ENV}", out, 1, "--format", "npz")
try:
    import numpy as np
    with np.load(os.path.join(out, "episode_000000.npz")) as z:
        check(z["state"].dtype == np.float32 and z["state"].shape == (z["image"].shape[0], 4)
              and np.all(z["state"][0, 2:] == 0.0), f"the .npz holds 'state' {z['state'].shape}")
except ImportError:
    check(False, "numpy to read the .npz")
r = run(WM, "info", os.path.join(out, "episode_000000.npz"))
check(r.returncode == 0, f"wm info reads an episode with states back: {r.stdout.strip()[:200]} {r.stderr.strip()}")

# Each fault at the 60th step message (inside the second episode): one line, exit 1, the first episode whole.
FAULTS = {
    "short_payload": "closed the stream before the 5760 bytes of message 63's frame",
    "nan_reward": "message 63 (a step's reply) is not a JSON object (it holds NaN or Infinity",
    "bad_bytes": "message 63 (a step's reply): \"bytes\" must be 5760",
    "bad_state": "message 63 (a step's reply): \"state\" must be a list of state_dim = 4 numbers (it holds 3)",
    "error": "message 63: the environment says: motor 2 overheated",
    "close": "closed the stream before a step's reply (it exited with status 0)",
    "bad_json": "message 63 (a step's reply) is not a JSON object",
    "bad_hello": "message 1 (the environment's first message): \"action_dim\" must be an integer",
}
for fault, said in FAULTS.items():
    out = os.path.join(tmp, fault)
    r = collect(f"exec:{ENV} --fault {fault} --at 60", out, 3)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1 and len(lines) == 1 and lines[0].startswith("wm collect: exec:") and said in lines[0],
          f"{fault}: exit {r.returncode}, {lines}")
    check(len(episodes(out)) == (0 if fault == "bad_hello" else 1), f"{fault}: the episodes before it kept")

out = os.path.join(tmp, "stall")
start = time.time()
r = collect(f"exec:{ENV} --fault stall --at 60", out, 3, "--env-timeout", "2")
check(r.returncode == 1 and "no answer within 2 s while waiting for a step's reply" in r.stderr
      and time.time() - start < 60, f"a stalled environment times out: {r.stderr.strip()}")
check(len(episodes(out)) == 1, "stall: the episode before it kept")

r = collect("exec:exit 3", os.path.join(tmp, "gone"), 1)
check(r.returncode == 1 and "closed the stream before the environment's first message (it exited with status 3)"
      in r.stderr, f"a command that exits at once: {r.stderr.strip()}")


# TCP: the same environment as a server on a free port of localhost.
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(*extra):
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "env_point_mass.py"), "--tcp", str(port), *extra],
                         stderr=subprocess.PIPE, text=True)
    p.stderr.readline()  # "listening"
    return p, port


p, port = server()
out = os.path.join(tmp, "tcp")
r = collect(f"tcp:127.0.0.1:{port}", out, 3)
check(r.returncode == 0 and len(episodes(out)) == 3, f"tcp: collect 3 episodes: exit {r.returncode} {r.stderr[-200:]}")
check(p.wait(timeout=30) == 0, "the server saw close and left")

p, port = server("--fault", "error", "--at", "10")
r = collect(f"tcp:127.0.0.1:{port}", os.path.join(tmp, "tcp_error"), 1)
check(r.returncode == 1 and "message 12: the environment says: motor 2 overheated" in r.stderr,
      f"tcp: an error from the server: {r.stderr.strip()}")
p.wait(timeout=30)
r = collect(f"tcp:127.0.0.1:{free_port()}", os.path.join(tmp, "refused"), 1)
check(r.returncode == 1 and "cannot connect: Connection refused" in r.stderr, f"tcp: nobody listening: {r.stderr}")
r = collect("tcp:nocolon", os.path.join(tmp, "bad"), 1)
check(r.returncode == 1 and "expected tcp:HOST:PORT" in r.stderr, f"tcp: a malformed address: {r.stderr.strip()}")

# tools/gym_env.py serves a Gymnasium-style object (tests/gym_style_env.py: a pendulum, torques in [-2, 2] that it
# refuses outside, episodes truncated at 60 steps, a flat observation as the state).
ROOT = os.path.dirname(HERE)
BRIDGE = f"{sys.executable} {os.path.join(ROOT, 'tools', 'gym_env.py')} {os.path.join(HERE, 'gym_style_env.py')}"
out = os.path.join(tmp, "gym")
r = collect(f"exec:{BRIDGE}:make", out, 2)
eps = episodes(out)
check(r.returncode == 0 and [len(e) for e in eps] == [61, 61],
      f"the bridge: 2 episodes of 60 steps: exit {r.returncode} {r.stderr.strip()[-200:]}")
check(all(float(row[1]) <= 0.0 for e in eps for row in e[1:]), "the bridge's rewards are the pendulum's (negative)")
r = collect(f"exec:{BRIDGE}:make_failing", os.path.join(tmp, "gym_failing"), 2)
check(r.returncode == 1 and "message 73: the environment says: RuntimeError: encoder cable unplugged" in r.stderr,
      f"the bridge passes the environment's exception on: {r.stderr.strip()}")
port = free_port()
p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "gym_env.py"), os.path.join(HERE, "gym_style_env.py")
                      + ":make", "--tcp", str(port)], stderr=subprocess.PIPE, text=True)
p.stderr.readline()  # "serving ..."
r = collect(f"tcp:127.0.0.1:{port}", os.path.join(tmp, "gym_tcp"), 1)
check(r.returncode == 0 and len(episodes(os.path.join(tmp, "gym_tcp"))) == 1,
      f"the bridge over tcp: exit {r.returncode} {r.stderr.strip()[-200:]}")
p.kill()

# The online loop and wm eval learn and act through the protocol (a tiny model: this checks plumbing).
run_dir = os.path.join(tmp, "online")
r = run(*train_args(run_dir, f"exec:{ENV}", 4))
check(r.returncode == 0, f"wm train --env exec: exit {r.returncode} {r.stderr.strip()[-300:]}")
kept = episodes(os.path.join(run_dir, "episodes"))
check(len(kept) >= 3, f"the online run kept {len(kept)} episodes")
# The environment's states feed the model: a state term in the ELBO, the state size in the run, and wm plan reads
# the states beside a PNG directory's frames from its steps.csv (and says where, when they are missing).
metrics = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
check(all(m["state_nll"] > 0 for m in metrics if "loss" in m), "metrics.jsonl has the state's nll at every step")
r = run(WM, "info", run_dir)
check("frames with 4 state numbers" in r.stdout, f"wm info names the model's inputs: {r.stdout.strip()[:300]}")
first = os.path.join(run_dir, "episodes", sorted(n for n in os.listdir(os.path.join(run_dir, "episodes"))
                                                 if n.startswith("episode_"))[0])
frames = len([n for n in os.listdir(first) if n.endswith(".png")])
r = run(WM, "plan", "--run", run_dir, "--frames", first, "--threads", "2")
check(r.returncode == 0 and len(r.stdout.split("\n")) - 1 == frames,
      f"wm plan acts on {frames} frames with their states: exit {r.returncode} {r.stderr.strip()[-200:]}")
bare = os.path.join(tmp, "bare_frames")
os.makedirs(bare)
for n in os.listdir(first):
    if n.endswith(".png"):
        shutil.copy(os.path.join(first, n), bare)
r = run(WM, "plan", "--run", run_dir, "--frames", bare, "--threads", "2")
check(r.returncode == 1 and "the model takes 4 state numbers beside each frame" in r.stderr,
      f"frames without their states: {r.stderr.strip()}")
r = run(WM, "eval", "--run", run_dir, "--env", f"exec:{ENV}", "--episodes", "2", "--threads", "2")
check(r.returncode == 0 and "return" in r.stdout, f"wm eval --env exec: exit {r.returncode} {r.stderr.strip()[-200:]}")
p, port = server()
r = run(WM, "eval", "--run", run_dir, "--env", f"tcp:127.0.0.1:{port}", "--episodes", "1", "--threads", "2")
check(r.returncode == 1 and "learned in exec:" in r.stderr, f"eval elsewhere is another task: {r.stderr.strip()}")
p.kill()

# A remote system that fails in the middle of an online episode: the run stops with the line, and the steps it sent
# before the failure are kept as an episode cut there (they cannot be played again).
run_dir = os.path.join(tmp, "online_fault")
r = run(*train_args(run_dir, f"exec:{ENV} --fault close --at 60", 20))
kept = episodes(os.path.join(run_dir, "episodes"))
check(r.returncode == 1 and len(kept) == 2 and len(kept[0]) == 51 and len(kept[1]) == 10,
      f"a failure mid-episode keeps the steps before it: exit {r.returncode}, episodes of "
      f"{[len(k) for k in kept]} rows, {r.stderr.strip()[-160:]}")

# online.mode async: the actor acts in its own thread at the environment's 20 Hz while the learner trains; one
# metrics line per episode with the actor's latency and the weights' age; SIGTERM ends it with every episode on disk
# and a checkpoint, and the same command resumes.
run_dir = os.path.join(tmp, "async")
ASYNC = ["online.mode=async", "online.sync_every=5", "online.train_ratio=4"]
args = train_args(run_dir, f"exec:{ENV} --control-hz 20 --length 20", 1000, ASYNC)
p = start_until_episode(args, run_dir, 4, stderr=subprocess.PIPE, text=True)
p.terminate()
_, stderr = p.communicate(timeout=120)
lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
acting = [l for l in lines if "actor_latency_p99_ms" in l]
check(p.returncode == 0 and len(acting) >= 4 and all(l["actor_decisions"] >= 1 and l["weights_age"] >= 0
                                                     for l in acting),
      f"async: {len(acting)} episodes with the actor's latency, exit {p.returncode} {stderr.strip()[-300:]}")
on_disk = episodes(os.path.join(run_dir, "episodes"))
check(len(on_disk) == lines[-1]["episodes"] or len(on_disk) == acting[-1]["episodes"],
      f"async: every episode the metrics count is on disk ({len(on_disk)})")
r = run(*(args[:args.index("--steps") + 1] + [str(max(l.get("step", 0) for l in lines) + 2)] + args[args.index("--steps") + 2:]))
check(r.returncode == 0 and "resuming" in r.stderr and "(async)" in r.stderr,
      f"async: the same command resumes: exit {r.returncode} {r.stderr.strip()[-300:]}")

# Async, killed (SIGKILL) mid-run: every episode on disk before the kill is there, unchanged, after the resume, and
# those after the last checkpoint join the replay.
run_dir = os.path.join(tmp, "async_killed")
args = train_args(run_dir, f"exec:{ENV} --control-hz 20 --length 20", 100000, ASYNC + ["run.checkpoint_every=20"])
p = start_until_episode(args, run_dir, 5, stderr=subprocess.DEVNULL)
p.kill()
p.wait()
before = episode_texts(run_dir)
args[args.index("--steps") + 1] = "24"
r = run(*args)
kept = all(open(os.path.join(run_dir, "episodes", name, "steps.csv")).read() == text for name, text in before.items())
check(len(before) >= 6 and kept and r.returncode == 0 and "kept in the replay" in r.stderr,
      f"async, kill -9: the {len(before)} episodes on disk kept, the resume exits {r.returncode} "
      f"{r.stderr.strip()[-200:]}")

# Lose nothing: wm train killed (SIGKILL) while it records the seed episodes of a remote system, before any
# checkpoint; the same command resumes, and every episode recorded before the kill is kept and joins the replay.
run_dir = os.path.join(tmp, "killed")
args = train_args(run_dir, f"exec:{ENV} --control-hz 100", 2, ["online.seed_episodes=6"])
p = start_until_episode(args, run_dir, 2, stderr=subprocess.DEVNULL)
p.kill()
p.wait()
before = episode_texts(run_dir)
r = run(*args)
after = os.listdir(os.path.join(run_dir, "episodes"))
kept = all(name in after and open(os.path.join(run_dir, "episodes", name, "steps.csv")).read() == text
           for name, text in before.items())
check(len(before) >= 3 and kept and r.returncode == 0 and "recorded before a stop kept in the replay" in r.stderr,
      f"kill -9 while seeding: the {len(before)} episodes recorded before it kept, the resume exits "
      f"{r.returncode} with {len(after)}")

# An episode recorded after the last checkpoint (as a kill between an episode and the next checkpoint leaves it):
# the resume keeps it, where a simulated task's would be collected again.
episodes_dir = os.path.join(run_dir, "episodes")
names = sorted(n for n in os.listdir(episodes_dir) if n.startswith("episode_"))
extra = os.path.join(episodes_dir, "episode_%06d" % len(names))
shutil.copytree(os.path.join(episodes_dir, names[-1]), extra)
args[args.index("--steps") + 1] = "4"
r = run(*args)
check(r.returncode == 0 and os.path.isdir(extra) and "1 episode recorded after the last checkpoint (a remote system's) kept in the replay" in r.stderr,
      f"an episode after the checkpoint is kept: exit {r.returncode} {r.stderr.strip()[-300:]}")

sys.exit(1 if failures else 0)
