"""Helpers shared by the Python peer tests: running wm on a tiny configuration and recording checks."""
import atexit
import json
import os
import shutil
import subprocess
import tempfile

# Each test process measures its own choices (plan.precision auto, ...): a cache of its own, shared by no other test.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="wm-measured-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

TINY = ["data.height=32", "data.width=32", "model.depth=4", "model.encoder_kernels=4,4,4",
        "model.decoder_kernels=5,6,6", "model.deter=16", "model.stoch=4", "model.hidden=16",
        "model.reward_layers=1", "model.reward_units=16", "data.batch=3", "data.length=8",
        "run.log_every=1", "run.checkpoint_every=4"]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def train(wm, run, data, steps, extra=(), wait=True, launcher=(), source="--data", threads=2, config=None):
    """wm train on the tiny configuration; `launcher` goes first (mpirun and its options), `source` is --data or
    --env with `data` its argument, `config` a --config file under the tiny --set."""
    args = list(launcher) + [wm, "train", "--run", run, source, data, "--steps", str(steps), "--threads", str(threads)]
    if config:
        args += ["--config", config]
    for s in TINY + list(extra):
        args += ["--set", s]
    if not wait:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(args, capture_output=True, text=True)


def collect(wm, out, episodes=3, seed=4):
    return subprocess.run([wm, "collect", "--env", "cartpole-swingup", "--episodes", str(episodes), "--out", out,
                           "--seed", str(seed)], capture_output=True, text=True)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors_header(path):
    """A safetensors file's JSON header and the bytes after it."""
    blob = read_bytes(path)
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + size]), blob[8 + size:]
