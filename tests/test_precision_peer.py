"""train.precision and plan.precision auto, from outside: a new run measures both precisions on its own shapes,
says what it chose and why in its first line and in metrics, and caches the choice per machine; the next run on the
machine reads the cache; a resumed run keeps what its checkpoint recorded even when the cache says otherwise; the
choice is always the faster of the two times it measured. `wm bench plan --json` prints CEM at auto with what it
chose.
Usage: test_precision_peer.py WM"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from wm_peer import check, failures, safetensors_header

WM = sys.argv[1]
ONLINE = ["model.depth=4", "model.deter=16", "model.stoch=4", "model.hidden=16", "model.reward_layers=1",
          "model.reward_units=16", "data.batch=3", "data.length=8", "run.log_every=1", "run.checkpoint_every=2",
          "online.seed_episodes=1", "online.steps_per_episode=2", "data.action_repeat=8", "plan.candidates=50",
          "plan.top_k=10", "plan.iterations=2", "plan.horizon=4", "train.precision=auto", "plan.precision=auto"]
cache = os.path.join(os.environ["XDG_CACHE_HOME"], "wm", "measured_choices.tsv")


def train(run, steps):
    args = [WM, "train", "--run", run, "--env", "cartpole-swingup", "--steps", str(steps), "--threads", "2"]
    for s in ONLINE:
        args += ["--set", s]
    r = subprocess.run(args, capture_output=True, text=True)
    check(r.returncode == 0, f"{os.path.basename(run)} to step {steps}: exit {r.returncode} {r.stderr.strip()[-300:]}")
    line = next((l for l in r.stderr.splitlines() if l.startswith("wm train: training in")), "")
    return line


def cache_lines():
    if not os.path.exists(cache):
        return []
    return [l.rstrip("\n").split("\t") for l in open(cache) if l.strip()]


def first_words(run):
    """The first train_precision and plan_precision in the run's metrics lines."""
    words = {}
    for line in open(os.path.join(run, "metrics.jsonl")):
        for key, value in json.loads(line).items():
            if key.endswith("_precision"):
                words.setdefault(key, value)
    return words


def faster(value):
    word, fp32, bf16 = value.split()
    return word == ("bf16" if 0 < float(bf16) < float(fp32) else "fp32")


tmp = tempfile.mkdtemp()
try:
    a, b, c = (os.path.join(tmp, n) for n in "abc")
    first = train(a, 2)
    check(first.count("measured") == 2 and "earlier" not in first, "a new run measures both: " + first)
    lines = cache_lines()
    check(len(lines) == 2 and all(faster(v) for _, v in lines),
          f"two choices cached, each the faster of its two times: {[v for _, v in lines]}")
    start = first_words(a)
    check(start.get("train_precision") in ("fp32", "bf16") and start.get("plan_precision") in ("fp32", "bf16"),
          f"the metrics lines name them: {start}")
    meta = safetensors_header(os.path.join(a, "latest.safetensors"))[0]["__metadata__"]
    check(meta.get("precision.train") == start["train_precision"] and
          meta.get("precision.plan") == start["plan_precision"], "the checkpoint records them")
    second = train(b, 2)
    check(second.count("measured earlier on this machine") == 2, "the next run reads the cache: " + second)
    # The cache now says the other precision for both; a resumed run keeps its own, a new run takes the cache's.
    flip = {"fp32": "bf16", "bf16": "fp32"}
    with open(cache, "w") as f:
        for key, value in lines:
            word, fp32, bf16 = value.split()
            f.write(f"{key}\t{flip[word]} {bf16} {fp32}\n")
    resumed = train(a, 4)
    check("as the run began" in resumed and
          safetensors_header(os.path.join(a, "latest.safetensors"))[0]["__metadata__"]["precision.train"] ==
          start["train_precision"], "a resumed run keeps what it began with: " + resumed)
    third = train(c, 2)
    other = first_words(c)
    check(other["train_precision"] == flip[start["train_precision"]] and
          other["plan_precision"] == flip[start["plan_precision"]], "a new run takes the cache's choice: " + third)
    r = subprocess.run([WM, "bench", "plan", "--json", "--repeats", "1", "--threads", "2"], capture_output=True,
                       text=True)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    auto = [x for x in rows if x.get("planner") == "cem" and x.get("precision") == "auto"]
    fixed = {x["precision"] for x in rows if x.get("planner") == "cem" and "chosen" not in x and "what" not in x}
    check(r.returncode == 0 and len(auto) == 1 and fixed == {"fp32", "bf16"},
          f"wm bench plan --json: CEM at fp32, bf16 and auto ({len(rows)} rows)")
    if auto:
        x = auto[0]
        want = "bf16" if 0 < x["measured_bf16_ms"] < x["measured_fp32_ms"] else "fp32"
        check(x["chosen"] == want, f"auto chose {x['chosen']}: fp32 {x['measured_fp32_ms']} ms, "
              f"bf16 {x['measured_bf16_ms']} ms")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
