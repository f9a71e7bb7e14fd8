"""`mpirun -np 2 wm train` end to end, on a tiny configuration, 1 thread per rank:
- offline, it trains, writes one run directory (rank 0's metrics with the allreduce's time, one checkpoint with
  both ranks' streams), and `wm info` opens the checkpoint;
- the same command twice: bit-identical checkpoints;
- one rank killed with SIGKILL mid-run ends the whole job within seconds; the same command then resumes and ends
  bit-identical to a run never stopped;
- resuming with another rank count is refused, naming both counts;
- a rank that cannot read its share names the rank and the file, and leaves no run directory;
- online, each rank collects its own episodes (R/episodes and R/episodes-rank1), and the run resumes.
Usage: test_mpi_train.py WM"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from wm_peer import check, collect, failures, read_bytes, safetensors_header
from wm_peer import train as wm_train

WM = sys.argv[1]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2"]


def train(run, source, steps, extra=(), ranks=True, wait=True):
    return wm_train(WM, run, source[1], steps, ["run.checkpoint_every=2"] + list(extra), wait,
                    launcher=MPIRUN if ranks else (), source=source[0], threads=1)


def metadata(path):
    return safetensors_header(path)[0].get("__metadata__", {})


def rank_processes(parent):
    """The wm processes mpirun started (its children, or its children's)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().split(b"\0")[0]
        except OSError:
            continue
        if ppid == parent and command.endswith(b"wm"):
            found.append(int(pid))
    return found


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "episodes")
    check(collect(WM, data, episodes=5).returncode == 0, "collect 5 episodes")
    offline = ("--data", data)

    a = os.path.join(tmp, "a")
    r = train(a, offline, 6, ["data.holdout_episodes=1", "run.log_every=3"])
    check(r.returncode == 0, "mpirun -np 2 wm train trains 6 steps: " + r.stderr[-300:])
    check("2 ranks, each 3 sequences a step: a global batch of 6" in r.stderr, "rank 0 says the global batch")
    check(r.stderr.count("resuming") == 0 and not os.path.exists(a + "-rank1"), "one run directory")
    meta = metadata(os.path.join(a, "latest.safetensors"))
    check(meta.get("ranks") == "2" and "rank1.rng.sample" in meta and meta.get("rng.sample") != meta["rank1.rng.sample"],
          "the checkpoint holds both ranks' streams, each its own")
    with open(os.path.join(a, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    check([l["step"] for l in lines] == [3, 6] and all("allreduce_s" in l and l["ranks"] == 2 for l in lines)
          and "heldout_image_mse" in lines[-1], "rank 0 alone writes metrics, with the allreduce's time and held-out figures")
    info = subprocess.run([WM, "info", a], capture_output=True, text=True)
    check(info.returncode == 0 and "step 6" in info.stdout, "wm info opens the run: " + info.stdout[:80])

    b = os.path.join(tmp, "b")
    train(b, offline, 6, ["data.holdout_episodes=1", "run.log_every=3"])
    check(read_bytes(os.path.join(a, "latest.safetensors")) == read_bytes(os.path.join(b, "latest.safetensors")),
          "the same command twice: bit-identical checkpoints")

    # One rank killed mid-run: the job ends within seconds; the same command resumes and ends as if never stopped.
    total = 60
    u, k = os.path.join(tmp, "u"), os.path.join(tmp, "k")
    check(train(u, offline, total).returncode == 0, f"an uninterrupted 2-rank run of {total} steps")
    job = train(k, offline, total, wait=False)
    first = os.path.join(k, "checkpoints", "step_4.safetensors")
    deadline = time.time() + 300
    while not os.path.exists(first) and time.time() < deadline and job.poll() is None:
        time.sleep(0.005)
    ranks = rank_processes(job.pid)
    killed = job.poll() is None and len(ranks) == 2
    if killed:
        os.kill(ranks[1], signal.SIGKILL)
    started = time.time()
    try:
        job.wait(timeout=60)
    except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
    ended = time.time() - started
    killed_at = int(metadata(os.path.join(k, "latest.safetensors"))["step"])
    check(killed and job.returncode != 0 and ended < 15 and killed_at < total,
          f"SIGKILL to one rank at step >= 4 ended the job in {ended:.1f} s (exit {job.returncode}), "
          f"the last checkpoint at step {killed_at}")
    r = train(k, offline, total)
    check(r.returncode == 0 and f"resuming {k} from step {killed_at}" in r.stderr, "the same command resumes")
    check(read_bytes(os.path.join(u, "latest.safetensors")) == read_bytes(os.path.join(k, "latest.safetensors")),
          "killed and resumed ends bit-identical to never stopped")

    # Another rank count: refused, both counts named.
    r = train(a, offline, 8, ranks=False)
    check(r.returncode != 0 and "trained on 2 ranks and this start has 1" in r.stderr,
          "one process resuming a 2-rank run is refused: " + r.stderr.strip()[-160:])

    # A rank that cannot read its share: episode 1 goes to rank 1 (round robin).
    bad = os.path.join(tmp, "bad")
    check(collect(WM, bad, episodes=4).returncode == 0, "collect 4 more episodes")
    victim = sorted(os.listdir(bad))[1]
    with open(os.path.join(bad, victim, "steps.csv"), "w") as f:
        f.write("not,a,header\n")
    c = os.path.join(tmp, "c")
    r = train(c, ("--data", bad), 4)
    check(r.returncode != 0 and "rank 1:" in r.stderr and victim in r.stderr,
          "a rank that cannot read its share names the rank and the file: "
          + " ".join(l for l in r.stderr.splitlines() if "rank 1" in l)[:200])
    check(not os.path.exists(c), "and leaves no run directory behind")

    # Online: each rank collects its own episodes with its own streams; the run resumes.
    o = os.path.join(tmp, "online")
    online = ("--env", "cartpole-swingup")
    settings = ["data.height=64", "data.width=64", "model.encoder_kernels=4,4,4,4", "model.decoder_kernels=5,5,6,6",
                "online.seed_episodes=1", "online.steps_per_episode=2", "online.eval_every=1", "plan.candidates=20",
                "plan.top_k=4", "plan.iterations=2", "plan.horizon=3", "data.action_repeat=25"]
    r = train(o, online, 4, settings)
    check(r.returncode == 0, "mpirun -np 2 wm train --env: " + r.stderr[-300:])
    mine, theirs = os.path.join(o, "episodes"), os.path.join(o, "episodes-rank1")
    counts = [len(os.listdir(d)) if os.path.isdir(d) else 0 for d in (mine, theirs)]
    check(counts == [3, 3], f"each rank kept its own episodes: {counts}")
    first_frames = [read_bytes(os.path.join(d, sorted(os.listdir(d))[0], "frame_000000.png")) for d in (mine, theirs)
                    if os.path.isdir(d)]
    check(len(first_frames) == 2 and first_frames[0] != first_frames[1], "the ranks' environments start apart")
    r = train(o, online, 6, settings)
    check(r.returncode == 0 and "resuming" in r.stderr and [len(os.listdir(d)) for d in (mine, theirs)] == [4, 4],
          "the online run resumes on both ranks: " + r.stderr[-200:])

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
