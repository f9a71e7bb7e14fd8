"""A run is never lost or corrupted, checked from outside with Python (Debian's numpy) as the peer:
- the same command line resumes: the README's own `wm train ... --set` examples run twice, and a --config with
  several --set; only a real difference is refused, naming each key;
- SIGKILL at 20 random moments of an online run with the actor (--config and several --set): every restart
  resumes, and the end is bit-identical to a run never stopped;
- one writer per run directory: a second wm train on a run in use exits 1 naming the holder's pid; a reader
  (wm info, wm-viz curves) reads it meanwhile; a lock left by a killed process is no obstacle;
- SIGTERM mid-episode stops wm eval with its summary line and exit 0, and wm plan likewise;
- 100 actions: an .npz dataset, offline training with the actor, wm plan with the actor's actions of 100 floats.
The SIGTERM and SIGINT soaks of wm train are tests/stop_soak.py (meson runs them beside this).
Usage: test_run_safety_peer.py WM WM_VIZ SOURCE_ROOT"""
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from wm_peer import TINY, check, collect, failures, read_bytes

WM, VIZ, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
ASAN = "ASAN_OPTIONS" in os.environ


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def readme_train_examples():
    """Every `wm train` line with --set in the README's code blocks, as argument lists."""
    text = open(os.path.join(ROOT, "README.md")).read()
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("build/wm train") and "--set" in line:
                lines.append(shlex.split(line))
    return lines


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "episodes")
    check(collect(WM, data).returncode == 0, "collect 3 episodes")

    # The README's --set examples, each twice: the second run of the same line resumes. Runs and data go to tmp,
    # --steps to 1 then 2 (the second is the same line with more steps, as a user extends a run), and the tiny
    # model's --set follow the line's own, so that a step takes milliseconds.
    examples = readme_train_examples()
    check(len(examples) >= 1, f"the README has {len(examples)} wm train example(s) with --set")
    for n, words in enumerate(examples):
        args = [WM] + words[1:]
        for i, w in enumerate(args):
            if args[i - 1] == "--run":
                args[i] = os.path.join(tmp, f"readme{n}")
            elif args[i - 1] == "--data":
                args[i] = data
            elif args[i - 1] == "--config":
                args[i] = os.path.join(ROOT, w)
        if "--steps" in args:
            del args[args.index("--steps"):args.index("--steps") + 2]
        args += [a for t in TINY for a in ("--set", t)]  # the tiny model after the line's own --set, both times
        first = run(*args, "--steps", "1", "--threads", "2")
        second = run(*args, "--steps", "2", "--threads", "2")
        check(first.returncode == 0 and second.returncode == 0 and "resuming" in second.stderr,
              f"README example {' '.join(words[2:])[:80]}: the same line resumes: " + second.stderr.strip()[-160:])

    # --config with several --set: the same command resumes; another value is refused, naming each key.
    config = os.path.join(ROOT, "configs", "cartpole-offline.yaml")
    r1 = os.path.join(tmp, "sets")
    sets = [a for s in TINY + ["data.holdout_episodes=1", "loss.free_nats=2"] for a in ("--set", s)]
    base = [WM, "train", "--config", config, "--data", data, "--run", r1, "--threads", "2"] + sets
    a, b = run(*base, "--steps", "3"), run(*base, "--steps", "6")
    check(a.returncode == 0 and b.returncode == 0 and f"resuming {r1} from step 3" in b.stderr,
          "--config and 6 --set: the same command resumes: " + b.stderr.strip().splitlines()[0][:120])
    c = run(*base, "--steps", "8", "--set", "data.batch=4", "--set", "loss.free_nats=1")
    check(c.returncode == 1 and "data.batch: 4 vs 3" in c.stderr and "loss.free_nats: 1 vs 2" in c.stderr,
          "a real difference is refused naming each key: " + c.stderr.strip()[:200])

    # Online with the actor, SIGKILL at 20 random moments of one run, the same command after each.
    online = ["--config", os.path.join(ROOT, "configs", "cartpole-actor.yaml"), "--env", "cartpole-swingup",
              "--threads", "2", "--steps", "40"]
    for s in ["model.depth=4", "model.deter=16", "model.stoch=4", "model.hidden=16", "model.reward_units=16",
              "model.reward_layers=1", "data.batch=3", "data.length=8", "actor.layers=1", "actor.units=16",
              "actor.value_layers=1", "actor.value_units=16", "actor.horizon=3", "online.seed_episodes=1",
              "online.steps_per_episode=5", "online.eval_every=2", "run.checkpoint_every=4", "run.log_every=1"]:
        online += ["--set", s]
    whole, killed = os.path.join(tmp, "online_whole"), os.path.join(tmp, "online_killed")
    began = time.time()
    r = run(WM, "train", "--run", whole, *online)
    duration = time.time() - began
    check(r.returncode == 0, f"an online run with the actor, never stopped, {duration:.1f} s: " + r.stderr.strip()[-120:])
    # Kills until 20 have landed mid-run (8 under the sanitizers), each at a random moment of a restart within a
    # sixteenth (a tenth) of the whole run's duration: all the kills land before the resumed starts can finish the
    # run (at a twelfth and a sixth, a fast CI machine once finished it after 6 kills), most after some progress
    # past a checkpoint.
    chaos, kills, resumes, attempt, target = random.Random(11), 0, 0, 0, 8 if ASAN else 20
    while kills < target and attempt < 3 * target:
        attempt += 1
        p = subprocess.Popen([WM, "train", "--run", killed] + online, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(chaos.uniform(0.2, max(0.4, duration / (10 if ASAN else 16))))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        _, err = p.communicate()
        resumes += "resuming" in err
        if p.returncode not in (0, -signal.SIGKILL):
            failures.append(f"online start {attempt} exited {p.returncode}: {err.strip()[-200:]}")
        if p.returncode == 0:
            break  # the run finished before the kills did
    r = run(WM, "train", "--run", killed, *online)
    check(r.returncode == 0, "the same command finishes the killed run: " + r.stderr.strip()[-160:])
    check(kills == target, f"{kills} SIGKILLs landed mid-run in {attempt} starts, {resumes} restarts resumed from a "
          "checkpoint")
    check(read_bytes(os.path.join(whole, "latest.safetensors")) == read_bytes(os.path.join(killed, "latest.safetensors")),
          "online with the actor, killed and resumed: the end is bit-identical to never stopped")
    episodes = sorted(os.listdir(os.path.join(killed, "episodes")))
    check(episodes == sorted(os.listdir(os.path.join(whole, "episodes"))),
          f"the killed run holds the same {len(episodes)} episodes")

    # One writer: a second wm train on a run in use is refused with the holder's pid; readers read meanwhile.
    busy = os.path.join(tmp, "busy")
    p = subprocess.Popen([WM, "train", "--run", busy, "--data", data, "--steps", "100000", "--threads", "1"]
                         + [a for s in TINY for a in ("--set", s)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(os.path.join(busy, "latest.safetensors")):
        time.sleep(0.05)
    second = run(WM, "train", "--run", busy, "--data", data, "--steps", "100000", "--threads", "1",
                 *[a for s in TINY for a in ("--set", s)])
    check(second.returncode == 1 and second.stderr.strip() == f"wm train: {busy} is in use by wm train (pid {p.pid})",
          "a second writer exits 1: " + second.stderr.strip())
    torn = 0
    for _ in range(20):  # readers while it trains: the checkpoint and the metrics are whole every time
        torn += run(WM, "info", busy).returncode != 0
        torn += run(VIZ, "curves", "--run", busy, "--out", os.path.join(tmp, "c.png")).returncode != 0
    check(torn == 0, f"40 reads of the run being trained (wm info, wm-viz curves): {torn} failed")
    p.send_signal(signal.SIGKILL)
    p.communicate()
    again = run(WM, "train", "--run", busy, "--data", data, "--steps", "1", "--threads", "1")
    check(again.returncode == 0, "the lock of a killed holder is no obstacle: " + again.stderr.strip()[-120:])

    # wm eval and wm plan stopped by SIGTERM: exit 0 with the summary line.
    e = subprocess.Popen([WM, "eval", "--run", whole, "--env", "cartpole-swingup", "--episodes", "1000", "--threads",
                          "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4 if ASAN else 2)
    e.send_signal(signal.SIGTERM)
    out, err = e.communicate(timeout=120)
    check(e.returncode == 0 and "stopped on a signal" in out and re.search(r"^return .* over \d+ episode", out, re.M),
          f"wm eval stopped by SIGTERM: exit {e.returncode}, " + (out.strip().splitlines() or [err])[-1])
    frames = subprocess.Popen(["sh", "-c", "while :; do head -c 3072 /dev/urandom; done"], stdout=subprocess.PIPE)
    pl = subprocess.Popen([WM, "plan", "--run", r1, "--frames", "-", "--frame-size", "32x32", "--threads", "1",
                           "--set", "plan.candidates=50", "--set", "plan.top_k=10"], stdin=frames.stdout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    time.sleep(4 if ASAN else 2)
    pl.send_signal(signal.SIGTERM)
    out, err = pl.communicate(timeout=120)
    frames.kill()
    check(pl.returncode == 0 and "stopped on a signal" in err and re.search(r"\d+ frames, .* ms per decision", err)
          and len(out.splitlines()) >= 1, f"wm plan stopped by SIGTERM: exit {pl.returncode}, "
          + (err.strip().splitlines() or [""])[-1])

    # 100 actions, from an .npz dataset written by numpy to acting with the actor.
    wide = os.path.join(tmp, "wide")
    os.makedirs(wide)
    rng = np.random.default_rng(3)
    for k in range(2):
        T = 30
        np.savez(os.path.join(wide, f"episode_{k}.npz"), image=rng.integers(0, 255, (T, 32, 32, 3), dtype=np.uint8),
                 action=rng.uniform(-1, 1, (T, 100)).astype(np.float32), reward=rng.random(T).astype(np.float32))
    run100 = os.path.join(tmp, "wide_run")
    r = run(WM, "train", "--run", run100, "--data", wide, "--steps", "3", "--threads", "2", "--set", "actor.enabled=true",
            "--set", "actor.units=16", "--set", "actor.layers=1", "--set", "actor.horizon=3",
            *[a for s in TINY for a in ("--set", s)])
    check(r.returncode == 0, "offline training with the actor on 100 actions: " + r.stderr.strip()[-160:])
    raw = rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8).tobytes()
    pl = subprocess.run([WM, "plan", "--run", run100, "--frames", "-", "--frame-size", "32x32", "--planner", "actor",
                         "--threads", "1"], input=raw, capture_output=True)
    lines = pl.stdout.decode().splitlines()
    check(pl.returncode == 0 and len(lines) == 3 and all(len(l.split()) == 100 for l in lines),
          f"wm plan --planner actor on 100 actions: {len(lines)} lines of {len(lines[0].split()) if lines else 0}")
    toomany = os.path.join(tmp, "toomany")
    os.makedirs(toomany)
    np.savez(os.path.join(toomany, "episode_0.npz"), image=np.zeros((10, 32, 32, 3), np.uint8),
             action=np.zeros((10, 5000), np.float32), reward=np.zeros(10, np.float32))
    r = run(WM, "train", "--run", os.path.join(tmp, "toomany_run"), "--data", toomany, "--steps", "1")
    check(r.returncode == 1 and "5000 actions" in r.stderr and "episode_0.npz" in r.stderr,
          "5000 actions are refused where the data comes in: " + r.stderr.strip()[:160])

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
