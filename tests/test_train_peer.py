"""wm train end to end on a tiny configuration, with Python (json + numpy, Debian's) as the outside reader:
- two runs with the same seed and thread count write bit-identical checkpoints, in fp32 and in bf16;
- a run killed with SIGKILL after a checkpoint and resumed ends bit-identical to an uninterrupted one;
- the checkpoint is a valid safetensors file: header parsed with json, every tensor's byte range checked, and
  every F32 tensor's values checked against what `wm info` prints;
- a NaN loss term stops the run naming the term and the step, and the checkpoint is left as it was;
- bad configuration is refused with the key named.
Usage: test_train_peer.py WM"""
import json
import random
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from wm_peer import check, collect, failures, read_bytes, safetensors_header
from wm_peer import train as wm_train

WM = sys.argv[1]


def train(run, data, steps, extra=(), wait=True, config=None):
    return wm_train(WM, run, data, steps, extra, wait, config=config)


# The kill tests run a config file under the tiny --set, as a user's command line does: every restart must
# resolve the same config from the file and the --set (issue 30: the file was once compared without them).
OFFLINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "cartpole-offline.yaml")
KILL = ["data.holdout_episodes=0", "run.log_every=1", "run.checkpoint_every=4", "run.keep_checkpoints=0"]


def safetensors(path):
    header, data = safetensors_header(path)
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[t["dtype"]]
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        check_range = 0 <= begin <= end <= len(data) and end - begin == count * np.dtype(dtype).itemsize
        if not check_range:
            failures.append(f"{path}: {name} byte range")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(t["shape"])
    return header.get("__metadata__", {}), tensors


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "episodes")
    check(collect(WM, data).returncode == 0, "collect 3 episodes")

    # Same seed, same threads: the same bytes.
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    ra, rb = train(a, data, 12), train(b, data, 12)
    check(ra.returncode == 0 and rb.returncode == 0, "two runs of 12 steps finish: " + ra.stderr[-200:])
    for name in ["latest.safetensors", "checkpoints/step_4.safetensors", "checkpoints/step_12.safetensors"]:
        check(read_bytes(os.path.join(a, name)) == read_bytes(os.path.join(b, name)), f"{name} is bit-identical")
    kept = os.path.join(tmp, "kept")
    train(kept, data, 12, ["run.keep_checkpoints=2"])
    check(sorted(os.listdir(os.path.join(kept, "checkpoints"))) == ["step_12.safetensors", "step_8.safetensors"],
          "run.keep_checkpoints=2 keeps the newest two step files")
    c = os.path.join(tmp, "c")
    train(c, data, 12, ["run.seed=1"])
    check(read_bytes(os.path.join(a, "latest.safetensors")) != read_bytes(os.path.join(c, "latest.safetensors")),
          "another seed gives another checkpoint")

    # bf16 mixed precision keeps the same promises: same seed and threads, the same bytes, a stop and resume
    # included; and it is a different computation from fp32's.
    bf16 = ["train.precision=bf16"]
    whole, halves, again = (os.path.join(tmp, n) for n in ("bf16_whole", "bf16_halves", "bf16_again"))
    r = [train(whole, data, 12, bf16), train(again, data, 12, bf16), train(halves, data, 6, bf16),
         train(halves, data, 12, bf16)]
    check(all(x.returncode == 0 for x in r) and "resuming" in r[3].stderr, "bf16: two runs of 12 steps, and one of 6 "
          "resumed to 12: " + r[3].stderr[-160:])
    check(read_bytes(os.path.join(whole, "latest.safetensors")) == read_bytes(os.path.join(again, "latest.safetensors")),
          "bf16: the same command twice gives the same bytes")
    check(read_bytes(os.path.join(whole, "latest.safetensors")) == read_bytes(os.path.join(halves, "latest.safetensors")),
          "bf16: stopped at step 6 and resumed ends bit-identical to never stopped")
    check(read_bytes(os.path.join(whole, "latest.safetensors")) != read_bytes(os.path.join(a, "latest.safetensors")),
          "bf16 and fp32 checkpoints differ")

    # Killed after a checkpoint, resumed: the same end as an uninterrupted run of the same length. The length is
    # long enough (200 steps, checkpoints every 4) that the kill lands mid-run even on a fast build.
    total = 200
    u, k = os.path.join(tmp, "u"), os.path.join(tmp, "k")
    check(train(u, data, total, KILL, config=OFFLINE).returncode == 0, f"an uninterrupted run of {total} steps")
    process = train(k, data, total, KILL, wait=False, config=OFFLINE)
    latest = os.path.join(k, "latest.safetensors")
    deadline = time.time() + 300
    while not os.path.exists(latest) and time.time() < deadline and process.poll() is None:
        time.sleep(0.002)
    time.sleep(0.02)  # a few steps past the checkpoint, so the resume must redo them
    still_running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    meta, _ = safetensors(latest)
    killed_at = int(meta["step"])
    check(still_running and 4 <= killed_at < total,
          f"SIGKILL landed mid-run, after the checkpoint of step {killed_at}")
    r = train(k, data, total, KILL, config=OFFLINE)
    check(r.returncode == 0 and f"resuming {k} from step {killed_at}" in r.stderr,
          "the same command resumes: " + " ".join(l for l in r.stderr.splitlines() if "resuming" in l)[:120])
    check(read_bytes(os.path.join(u, "latest.safetensors")) == read_bytes(latest),
          "killed and resumed ends bit-identical to uninterrupted")
    with open(os.path.join(k, "metrics.jsonl")) as f:
        steps = [json.loads(line)["step"] for line in f]
    check(steps == list(range(1, total + 1)), f"metrics.jsonl of the resumed run holds steps 1..{total} once each")

    # SIGKILL at 20 random moments of one run (the same command resumed after each): every checkpoint on disk opens
    # whole after every kill, and the finished run is bit-identical to the uninterrupted one.
    # (In the release build: it tests what is on disk, not memory safety, and ASan would make it four times longer.)
    chaos = random.Random(7)
    m = os.path.join(tmp, "many")
    torn, kills = 0, 0
    for attempt in range(0 if "ASAN_OPTIONS" in os.environ else 20):
        process = train(m, data, total, KILL, wait=False, config=OFFLINE)
        time.sleep(chaos.uniform(0.05, 0.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        # A kill before the first checkpoint leaves no run directory at all (the run hygiene promise).
        steps_dir = os.path.join(m, "checkpoints")
        for name in [os.path.join(m, "latest.safetensors")] + [
                os.path.join(steps_dir, n) for n in (os.listdir(steps_dir) if os.path.isdir(steps_dir) else [])]:
            if os.path.exists(name) and not name.endswith(".tmp"):
                r = subprocess.run([WM, "info", name], capture_output=True, text=True)
                torn += r.returncode != 0
    r = train(m, data, total, KILL, config=OFFLINE)
    check((kills >= 10 or "ASAN_OPTIONS" in os.environ) and torn == 0,
          f"{kills} SIGKILLs at random moments: {torn} torn checkpoints")
    check(r.returncode == 0 and read_bytes(os.path.join(u, "latest.safetensors")) == read_bytes(
        os.path.join(m, "latest.safetensors")), "killed 20 times and resumed, the run ends bit-identical")

    # The checkpoint, read without wm, against `wm info`.
    meta, tensors = safetensors(os.path.join(a, "latest.safetensors"))
    check(meta.get("format") == "wm-checkpoint-1" and meta.get("step") == "12", "metadata: format and step")
    check("model:" in meta.get("config", "") and "deter: 16" in meta["config"], "metadata holds the resolved config")
    check("encoder.conv1.weight" in tensors and "optim.m.encoder.conv1.weight" in tensors
          and int(tensors["optim.step"][0]) == 12, "parameters, Adam moments and step are there")
    check(tensors["encoder.conv1.weight"].shape == (4, 3, 4, 4), "encoder.conv1.weight is (4, 3, 4, 4)")
    info = subprocess.run([WM, "info", os.path.join(a, "latest.safetensors")], capture_output=True, text=True)
    check(info.returncode == 0, "wm info opens the checkpoint")
    seen = 0
    for line in info.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[1] == "F32" and "sum" in parts:
            name, total = parts[0], float(parts[parts.index("sum") + 1])
            first = float(parts[parts.index("first") + 1])
            values = tensors[name].astype(np.float64).ravel()
            if abs(values.sum() - total) > 1e-9 * max(1.0, np.abs(values).sum()) or np.float32(first) != values[0]:
                failures.append(f"wm info disagrees on {name}: {total} vs {values.sum()}")
            seen += 1
    check(seen == sum(1 for t in tensors.values() if t.dtype == np.float32) and seen > 90,
          f"wm info and numpy agree on all {seen} F32 tensors")

    # A non-finite loss term stops the run before any update, naming the term and the step; the checkpoint it
    # resumed from is left as it was. The NaN is planted in the reward head's bias of a copy of run a.
    d = os.path.join(tmp, "d")
    shutil.copytree(a, d)
    blob = bytearray(read_bytes(os.path.join(d, "latest.safetensors")))
    size = int.from_bytes(blob[:8], "little")
    begin = json.loads(blob[8:8 + size])["reward.out.bias"]["data_offsets"][0]
    blob[8 + size + begin:8 + size + begin + 4] = np.array([np.nan], dtype=np.float32).tobytes()
    os.remove(os.path.join(d, "latest.safetensors"))  # a hard link to step_12: replace, do not write through
    with open(os.path.join(d, "latest.safetensors"), "wb") as f:
        f.write(blob)
    r = train(d, data, 16)
    check(r.returncode == 1 and "step 13: loss term 'reward_nll' is NaN" in r.stderr,
          "a NaN loss term stops the run: " + r.stderr.strip().splitlines()[-2][:120])
    check(read_bytes(os.path.join(d, "latest.safetensors")) == bytes(blob)
          and not os.path.exists(os.path.join(d, "checkpoints", "step_16.safetensors")),
          "the last checkpoint is untouched and no new one was written")

    # Bad configuration: named, exit 2.
    r = train(os.path.join(tmp, "e"), data, 2, ["model.detr=3"])
    check(r.returncode == 2 and "unknown key 'model.detr'" in r.stderr, "unknown key is named")
    r = subprocess.run([WM, "train", "--run", os.path.join(tmp, "f"), "--data", data, "--set", "data.batch=0"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "data.batch: 0 is out of range" in r.stderr, "out-of-range value is named")
    check(all(n.startswith("episode_") or n == "environment.txt" for n in os.listdir(data)),
          "nothing written into --data (only what wm collect put there)")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
