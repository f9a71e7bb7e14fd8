"""The command line as a user meets it: wm --version, wm config (the resolved config, every key with its range, a
mistyped key's nearest name), wm info on a run, --checkpoint step_N, and exit codes: 2 for usage errors only, 1
for everything else, the same in every command. Args: wm, wm-viz."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from wm_peer import TINY, check, collect, failures, train

wm, viz = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="wm_cli_")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


r = run(wm, "--version")
check(r.returncode == 0 and r.stdout.startswith("wm 0.") and "(" in r.stdout, "wm --version: " + r.stdout.strip())
r = run(viz, "--version")
check(r.returncode == 0 and r.stdout.startswith("wm-viz 0."), "wm-viz --version: " + r.stdout.strip())

r = run(wm, "config", "--keys")
keys = [l.split()[0] for l in r.stdout.splitlines() if l and not l.startswith(" ")]
check(r.returncode == 0 and len(keys) > 60 and "actor.horizon" in keys and "plan.planner" in keys,
      f"wm config --keys lists {len(keys)} keys")
check("one of shooting, cem, mppi, actor; default cem" in r.stdout, "a word-valued key lists its choices")
check("integer in [1, 4096]; default 50" in r.stdout, "a number lists its range and default")
r = run(wm, "config", "--set", "data.batch=32")
check(r.returncode == 0 and "  batch: 32" in r.stdout, "wm config prints the resolved config")
r = run(wm, "config", "--set", "plan.candidats=5")
check(r.returncode == 2 and "did you mean plan.candidates?" in r.stderr, "a mistyped key: " + r.stderr.splitlines()[0])

data, runs = os.path.join(tmp, "data"), os.path.join(tmp, "run")
check(collect(wm, data, 2).returncode == 0, "collect 2 episodes")
check(open(os.path.join(data, "environment.txt")).read().splitlines()[0] == "cartpole-swingup",
      "wm collect records the environment of its episodes")
# Collecting twice continues the streams: 2 + 2 episodes are the 4 of one go, none repeated.
twice, once = os.path.join(tmp, "twice"), os.path.join(tmp, "once")
collect(wm, twice, 2), collect(wm, twice, 2), collect(wm, once, 4)
steps = lambda d, i: open(os.path.join(d, f"episode_{i:06d}", "steps.csv")).read()
check(all(steps(twice, i) == steps(once, i) for i in range(4)) and steps(twice, 0) != steps(twice, 2),
      "collect twice into one dataset continues its random streams (no episode repeats)")
r = run(wm, "collect", "--env", "pendulum-swingup", "--episodes", "1", "--out", data)
check(r.returncode == 1 and "holds episodes of cartpole-swingup" in r.stderr, "another task's episodes are refused: "
      + r.stderr.strip())
extra = ["data.height=64", "data.width=64", "model.encoder_kernels=4,4,4,4", "model.decoder_kernels=5,5,6,6"]
r = train(wm, runs, data, 8, extra)
check(r.returncode == 0, "train a tiny 64x64 model for 8 steps")

r = run(wm, "info", runs)
out = r.stdout
check(r.returncode == 0 and "step 8 of 8" in out and "written by wm 0." in out, "wm info RUN: the step and version")
check("data: " + data in out and "fingerprint" in out and "cartpole-swingup" in out,
      "wm info RUN: the data source, its fingerprint and environment")
check("last losses (step 8)" in out and "image_nll" in out, "wm info RUN: the last losses")
check("config keys changed from the defaults" in out and "data.batch: 3 vs 50" in out, "wm info RUN: the changed keys")
check("step_4.safetensors" in out and "step_8.safetensors" in out, "wm info RUN: its checkpoints")

r = run(wm, "eval", "--run", runs, "--env", "cartpole-swingup", "--episodes", "1", "--checkpoint", "step_4",
        "--set", "plan.candidates=10", "--set", "plan.top_k=2", "--set", "plan.iterations=1")
check(r.returncode == 0 and "over 1 episode;" in r.stdout, "wm eval --checkpoint step_4, plural right")
r = run(wm, "eval", "--run", runs, "--env", "cartpole-swingup", "--checkpoint", "step_5")
check(r.returncode == 1 and "no checkpoint step_5" in r.stderr, "a missing checkpoint: " + r.stderr.strip())
r = run(wm, "eval", "--run", runs, "--env", "pendulum-swingup", "--episodes", "1")
check(r.returncode == 1 and "learned in cartpole-swingup" in r.stderr, "another task is refused: " + r.stderr.strip())
r = run(wm, "eval", "--run", runs, "--env", "reacher-easy")
check(r.returncode == 1 and ("takes 1 action" in r.stderr or "learned in" in r.stderr), "the culprit is named: "
      + r.stderr.strip())
r = run(viz, "recon", "--run", runs, "--data", data, "--checkpoint", "step_4", "--out", os.path.join(tmp, "r.png"))
check(r.returncode == 0, "wm-viz recon --checkpoint step_4")

# Run hygiene: a failed first start leaves nothing; a resume records --steps and refuses another --config.
fresh = os.path.join(tmp, "fresh")
r = train(wm, fresh, data, 2, extra + ["data.length=500"])
check(r.returncode == 1 and not os.path.exists(fresh), "a failed first start leaves no run directory: "
      + r.stderr.strip().splitlines()[-1])
r = train(wm, fresh, data, 2, extra)
check(r.returncode == 0 and "resuming" not in r.stderr, "the next start is a new run, not a resume of the failed one")
r = train(wm, fresh, data, 4, extra)
check(r.returncode == 0 and "steps: 4" in open(os.path.join(fresh, "config.yaml")).read(),
      "a resume with --steps 4 writes it into config.yaml")
other = os.path.join(tmp, "other.yaml")
open(other, "w").write("model:\n  deter: 24\n")
r = run(wm, "train", "--run", fresh, "--data", data, "--config", other)
check(r.returncode == 1 and "model.deter" in r.stderr and "another config" in r.stderr,
      "a resume with another --config is refused, naming the key: " + r.stderr.strip().splitlines()[0][:150])
check(not [n for n in os.listdir(fresh) if n.endswith(".tmp")], "no .tmp file is left in the run directory")

# Signals: SIGTERM checkpoints at the next step and exits 0, naming the step.
stopped = os.path.join(tmp, "stopped")
p = train(wm, stopped, data, 100000, extra, wait=False)
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(os.path.join(stopped, "metrics.jsonl")):
    time.sleep(0.1)
time.sleep(0.5)
p.send_signal(signal.SIGTERM)
out, err_text = p.communicate(timeout=60)
m = re.search(r"stopped at step (\d+) on a signal", err_text.decode())
step = int(m.group(1)) if m else -1
check(p.returncode == 0 and m is not None, f"SIGTERM: exit {p.returncode}, " + err_text.decode().strip().splitlines()[-1])
check(os.path.exists(os.path.join(stopped, "checkpoints", f"step_{step}.safetensors")),
      f"the checkpoint of step {step} it reports is there")
r = run(wm, "info", os.path.join(stopped, "latest.safetensors"))
check(f"step           {step}" in r.stdout, "latest is that checkpoint")

# Sizes before allocation: a batch too large for the memory limit is one line with both figures. (ASan reserves its
# shadow memory as address space, so an address-space limit cannot be tried under it.)
if "ASAN_OPTIONS" not in os.environ:
    import resource
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    r = subprocess.run([wm, "train", "--run", os.path.join(tmp, "big"), "--data", data, "--steps", "1", "--set",
                        "data.batch=400", "--set", "data.length=50"], capture_output=True, text=True, preexec_fn=limit)
    check(r.returncode == 1 and "needs" in r.stderr and "GiB are available" in r.stderr
          and not os.path.exists(os.path.join(tmp, "big")), "too large a batch, found before allocating: "
          + r.stderr.strip())

# Exit codes: usage errors 2 (an unknown option, a missing argument, a bad --set, an unknown --env), else 1.
usage = [(wm, "collect", "--env", "nope", "--episodes", "1", "--out", tmp), (wm, "eval", "--run", runs, "--env", "nope"),
         (wm, "train", "--run", runs, "--env", "nope"), (wm, "train", "--run", runs, "--data", data, "--set", "x.y=1"),
         (wm, "plan", "--bogus"), (viz, "recon"), (wm, "config", "--set", "data.batch=0")]
for args in usage:
    r = run(*args)
    check(r.returncode == 2, f"usage error exits 2: {' '.join(args[1:4])}: {r.stderr.splitlines()[0] if r.stderr else ''}")
bad_yaml = os.path.join(tmp, "bad.yaml")
open(bad_yaml, "w").write("data:\n  batch: [unclosed\n")
unknown_yaml = os.path.join(tmp, "unknown.yaml")
open(unknown_yaml, "w").write("data:\n  batchh: 3\n")
failing = [(wm, "train", "--run", os.path.join(tmp, "y"), "--data", data, "--config", bad_yaml),
           (wm, "train", "--run", os.path.join(tmp, "z"), "--data", data, "--config", unknown_yaml),
           (wm, "eval", "--run", os.path.join(tmp, "none"), "--env", "cartpole-swingup"),
           (wm, "info", os.path.join(tmp, "none")), (viz, "curves", "--run", os.path.join(tmp, "none"), "--out", "x.png")]
for args in failing:
    r = run(*args)
    check(r.returncode == 1, f"a failure exits 1: {' '.join(args[1:2])}: {r.stderr.strip().splitlines()[0] if r.stderr else ''}")
shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
