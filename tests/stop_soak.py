"""wm train stopped by a signal at random moments, many times: every stop exits 0 having written a checkpoint that
parses (wm info) and that the same command resumes. Each start is a new run on the tiny configuration with
several --set on its command line.
Usage: stop_soak.py WM SIGNAL COUNT WINDOW_S [PARALLEL] [THREADS] [DATA] (DATA: a dataset; default: 3 episodes
collected here)"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from wm_peer import TINY, collect

WM, SIGNAL_NAME = sys.argv[1], sys.argv[2]
SIGNAL, COUNT, WINDOW = getattr(signal, SIGNAL_NAME), int(sys.argv[3]), float(sys.argv[4])
PARALLEL = int(sys.argv[5]) if len(sys.argv) > 5 else 1
THREADS = sys.argv[6] if len(sys.argv) > 6 else "2"
DATA = sys.argv[7] if len(sys.argv) > 7 else None


# SOAK_CONFIG=FILE: that config with batches of 4 x 20 instead of the tiny one (the PlaNet-sized model).
CONFIG = os.environ.get("SOAK_CONFIG")
# SOAK_FROM=S: moments from S seconds on (default 0.05); SOAK_NO_RESUME=1: check exit codes only.
FROM = float(os.environ.get("SOAK_FROM", "0.05"))


def command(run, steps):
    args = [WM, "train", "--run", run, "--data", DATA, "--steps", str(steps), "--threads", THREADS]
    if CONFIG:
        args += ["--config", CONFIG]
    for s in (["data.batch=4", "data.length=20"] if CONFIG else TINY) + ["run.checkpoint_every=50"]:
        args += ["--set", s]
    return args


def one(i, tmp):
    """Start, signal at a random moment, then check what is on disk and resume it by one step."""
    run = os.path.join(tmp, f"run{i}")
    moment = random.Random(1000 + i).uniform(FROM, WINDOW)
    p = subprocess.Popen(command(run, 10 ** 7), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(moment)
    p.send_signal(SIGNAL)
    _, err = p.communicate(timeout=300)
    err = err.decode(errors="replace")
    problems = []
    if p.returncode != 0:
        problems.append(f"exit {p.returncode}: {err.strip().splitlines()[-3:] if err.strip() else ''}")
    elif "stopped at step" not in err:
        problems.append("no stop line: " + err.strip()[-200:])
    elif not os.environ.get("SOAK_NO_RESUME"):
        step = int(err.split("stopped at step ")[1].split()[0])
        info = subprocess.run([WM, "info", os.path.join(run, "latest.safetensors")], capture_output=True, text=True)
        if info.returncode != 0 or f"step           {step}" not in info.stdout:
            problems.append(f"checkpoint of step {step} does not parse: {info.stderr.strip()}")
        again = subprocess.run(command(run, step + 1), capture_output=True, text=True)
        if again.returncode != 0 or f"resuming {run} from step {step}" not in again.stderr:
            problems.append(f"resume failed (exit {again.returncode}): {again.stderr.strip()[-200:]}")
    shutil.rmtree(run, ignore_errors=True)
    return moment, p.returncode, problems


with tempfile.TemporaryDirectory() as tmp:
    if DATA is None:
        DATA = os.path.join(tmp, "episodes")
        if collect(WM, DATA).returncode != 0:
            sys.exit("stop_soak: could not collect episodes")
    start = time.time()
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda i: one(i, tmp), range(COUNT)))
    bad = [(i, r) for i, r in enumerate(results) if r[2]]
    codes = {}
    for _, code, _ in results:
        codes[code] = codes.get(code, 0) + 1
    print(f"{COUNT} x {SIGNAL_NAME} at random moments in [{FROM}, {WINDOW}] s ({time.time() - start:.0f} s): exit codes "
          f"{codes}, {len(bad)} with a problem")
    for i, (moment, code, problems) in bad[:10]:
        print(f"  #{i} at {moment:.2f} s: {'; '.join(problems)}")
    sys.exit(1 if bad else 0)
