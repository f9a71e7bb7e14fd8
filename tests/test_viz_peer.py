"""wm-viz and wm eval end to end on a tiny trained run: every command writes a picture that a real decoder (libpng, giflib,
through tests/image_probe) opens, of the expected size and not blank; openloop's CSV has a line per step; a missing
run, an empty dataset and a checkpoint that does not fit the config are refused with a clear message. wm eval runs
closed-loop episodes with the planner, prints the return and the time per decision, and writes a GIF. wm plan,
fed raw frames by ffmpeg (Debian's, a real producer) or PNG frames, prints exactly one action line per frame and
stops with a message on a truncated frame.
Usage: test_viz_peer.py WM WM_VIZ IMAGE_PROBE"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from wm_peer import TINY, check, collect, failures, train

WM, VIZ, PROBE = sys.argv[1:4]


def train_args(run, steps, extra):
    """wm train --env on the tiny configuration: a 64x64 model (the built-in environments render 64x64)."""
    args = [WM, "train", "--run", run, "--env", "cartpole-swingup", "--steps", str(steps), "--threads", "2"]
    for s in TINY + list(extra):
        args += ["--set", s]
    return args


def viz(*args):
    return subprocess.run([VIZ] + list(args), capture_output=True, text=True)


def probe(path):
    r = subprocess.run([PROBE, path], capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else ["unreadable", r.stderr.strip()]


with tempfile.TemporaryDirectory() as tmp:
    data, run = os.path.join(tmp, "episodes"), os.path.join(tmp, "run")
    check(collect(WM, data).returncode == 0, "collect 3 episodes")
    check(train(WM, run, data, 8).returncode == 0, "train a tiny model for 8 steps")
    # Frames are 32x32 in this run, drawn twice as large, with 2-pixel gaps: a cell is 66 wide. Around the grid, the
    # labels' margins (tools/viz_*.c): recon 78 left and 16 on top; openloop 64 left, 30 (PNG) or 18 (GIF) on top,
    # 30 below for the heat map's scale, at least 330 wide; the dataset a 14-pixel caption band above every row; the
    # evaluation GIF 30 on top for its caption.
    out = os.path.join(tmp, "recon.png")
    r = viz("recon", "--run", run, "--data", data, "--episodes", "2", "--frames", "5", "--out", out)
    p = probe(out)
    check(r.returncode == 0 and p[:3] == ["png", str(78 + 5 * 66 + 2), str(16 + 4 * 66 + 2)] and int(p[3]) > 20,
          f"recon: 2 episodes x 2 rows x 5 frames decode as {p}")

    out = os.path.join(tmp, "open.png")
    r = viz("openloop", "--run", run, "--data", data, "--context", "3", "--horizon", "9", "--frames", "4", "--out", out)
    p = probe(out)
    check(r.returncode == 0 and p[:3] == ["png", str(max(64 + 4 * 66 + 2, 330)), str(30 + 3 * 66 + 2 + 30)]
          and int(p[3]) > 20,
          f"openloop PNG: truth, model, error x 4 frames decode as {p}")
    with open(os.path.join(tmp, "open.csv")) as f:
        lines = f.read().split()
    check(lines[0] == "step,observed,mse" and len(lines) == 13 and lines[3].startswith("2,1,")
          and lines[4].startswith("3,0,"), "openloop CSV: one line per step, observed for the first 3")
    out = os.path.join(tmp, "open.gif")
    r = viz("openloop", "--run", run, "--data", data, "--context", "3", "--horizon", "9", "--out", out)
    p = probe(out)
    check(r.returncode == 0 and p[:4] == ["gif", "330", str(18 + 3 * 66 + 2 + 30), "12"] and int(p[4]) > 20,
          f"openloop GIF: 12 frames of truth, model, error decode as {p}")

    out = os.path.join(tmp, "curves.png")
    r = viz("curves", "--run", run, "--out", out)
    p = probe(out)
    check(r.returncode == 0 and p[0] == "png" and int(p[1]) == 3 * 420 and int(p[3]) > 50,
          f"curves: panels decode as {p}: " + r.stdout.strip())

    out = os.path.join(tmp, "grid.png")
    r = viz("dataset", "--data", data, "--episodes", "3", "--frames", "6", "--out", out)
    p = probe(out)
    check(r.returncode == 0 and p[:3] == ["png", str(6 * 130 + 2), str(3 * (130 + 14) + 2)] and int(p[3]) > 20,
          f"dataset: 3 episodes x 6 frames of 64x64 decode as {p}")

    # wm eval closes the loop in a built-in environment: a 64x64 model, a small planning budget.
    run64 = os.path.join(tmp, "run64")
    small = ["data.height=64", "data.width=64", "model.encoder_kernels=4,4,4,4", "model.decoder_kernels=5,5,6,6",
             "plan.candidates=20", "plan.top_k=5", "plan.iterations=2"]
    check(train(WM, run64, data, 4, small).returncode == 0, "train a tiny 64x64 model for 4 steps")
    gif = os.path.join(tmp, "eval.gif")
    r = subprocess.run([WM, "eval", "--run", run64, "--env", "cartpole-swingup", "--episodes", "2", "--gif", gif],
                       capture_output=True, text=True)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()
    check(r.returncode == 0 and " over 2 episodes; " in last and "ms per decision (250 decisions)" in last,
          "wm eval prints the return and the time per decision: " + last)
    p = probe(gif)
    check(p[:4] == ["gif", "132", str(30 + 132), "126"] and int(p[4]) > 5, f"wm eval's GIF: 126 frames decode as {p}")
    for precision in ["fp32", "bf16"]:
        r = subprocess.run([WM, "eval", "--run", run64, "--env", "cartpole-swingup", "--episodes", "1", "--set",
                            f"plan.precision={precision}"], capture_output=True, text=True)
        check(r.returncode == 0 and f"iterations, {precision})" in r.stdout and "return" in r.stdout,
              f"wm eval --set plan.precision={precision}: " + " | ".join(r.stdout.strip().splitlines()[::2]))
    # wm eval --values: the value and the imagined rewards beside the real episode. Its arithmetic is recomputed
    # here from the CSV's own columns: the n-step target sum_k<n gamma^k r_{t+k} + gamma^n v(s_{t+n}), the real
    # n-step reward sum, and the summary's mean of the imagined rewards.
    run_actor = os.path.join(tmp, "run_actor")
    horizon, gamma = 5, 0.9
    check(train(WM, run_actor, data, 4, small + ["actor.enabled=true", f"actor.horizon={horizon}",
                                                 f"actor.gamma={gamma}"]).returncode == 0,
          "train a tiny 64x64 model with the actor for 4 steps")
    values = os.path.join(tmp, "values.csv")
    r = subprocess.run([WM, "eval", "--run", run_actor, "--env", "cartpole-swingup", "--planner", "actor",
                        "--episodes", "2", "--values", values], capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(values) and not os.path.exists(values + ".tmp"),
          f"wm eval --values writes the CSV: exit {r.returncode} {r.stderr.strip()[-200:]}")
    with open(values) as f:
        header, *rows = [line.rstrip("\n").split(",") for line in f]
    check(header == ["episode", "t", "reward", "reward_head", "value", "target", "imagined", "real"]
          and len(rows) == 250, f"values CSV: the header and 125 decisions x 2 episodes ({len(rows)} rows)")
    worst, pairs = 0.0, []
    for e in range(2):
        ep = [row for row in rows if row[0] == str(e)]
        reward = [float(row[2]) for row in ep]
        value = [float(row[4]) for row in ep]
        T = len(ep)
        for t, row in enumerate(ep):
            has_target, has_real = t + horizon < T, t + horizon < T + 1
            blank_wrong = (row[5] == "") == has_target or (row[7] == "") == has_real
            if blank_wrong:
                worst = float("inf")
                continue
            if has_real:
                pairs.append((float(row[6]), float(row[7])))
            if has_target:  # the CSV has the rewards up to the last decision's, not the final frame's
                real = sum(reward[t + k] for k in range(1, horizon + 1))
                worst = max(worst, abs(real - float(row[7])) / (1 + abs(real)))
            if has_target:
                target = sum(gamma ** k * reward[t + k] for k in range(horizon))
                target += gamma ** horizon * value[t + horizon]
                worst = max(worst, abs(target - float(row[5])) / (1 + abs(target)))
    check(worst < 1e-4, f"values CSV: the n-step targets and real sums recomputed from its columns (worst {worst:.2g})")
    line = [l for l in r.stdout.splitlines() if l.strip().startswith("imagined reward over n steps")]
    mean_imagined = sum(p[0] for p in pairs) / max(len(pairs), 1)
    check(len(line) == 1 and f"mean {mean_imagined:.3f}," in line[0],
          f"values summary: the imagined mean {mean_imagined:.3f} over {len(pairs)} states: " + " ".join(line))
    r = subprocess.run([WM, "eval", "--run", run64, "--env", "cartpole-swingup", "--episodes", "1", "--values",
                        values], capture_output=True, text=True)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "actor" in r.stderr,
          "wm eval --values on a run without the actor: one line, exit 1: " + r.stderr.strip())
    # The online loop: seed episodes, then 3 gradient steps per collected episode, an evaluation after each. A run
    # stopped at step 5 (mid-phase) and resumed to 9 ends bit-identical to one run to 9, episodes included.
    online = small + ["online.seed_episodes=2", "online.steps_per_episode=3", "online.eval_every=1",
                      "run.checkpoint_every=2"]
    whole, halves = os.path.join(tmp, "online_whole"), os.path.join(tmp, "online_halves")
    r1 = subprocess.run(train_args(whole, 9, online), capture_output=True, text=True)
    r2 = subprocess.run(train_args(halves, 5, online), capture_output=True, text=True)
    r3 = subprocess.run(train_args(halves, 9, online), capture_output=True, text=True)
    check(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and "resuming" in r3.stderr,
          "wm train --env: one run of 9 steps, and 5 then resumed to 9: " + r3.stderr.strip().splitlines()[-1])
    check(sorted(os.listdir(os.path.join(whole, "episodes"))) == [f"episode_{i:06d}" for i in range(5)],
          "2 seed episodes and 3 collected ones are kept in R/episodes")
    same = all(open(os.path.join(whole, "episodes", e, "steps.csv")).read()
               == open(os.path.join(halves, "episodes", e, "steps.csv")).read() for e in os.listdir(os.path.join(whole, "episodes")))
    with open(os.path.join(whole, "latest.safetensors"), "rb") as a, open(os.path.join(halves, "latest.safetensors"), "rb") as b:
        same = same and a.read() == b.read()
    check(same, "the resumed online run is bit-identical to the uninterrupted one, episodes and checkpoint")
    with open(os.path.join(whole, "metrics.jsonl")) as f:
        returns = [json.loads(line) for line in f if "eval_return" in line]
    check([r["step"] for r in returns] == [3, 6, 9] and all(r["eval_return"] >= 0 for r in returns),
          "an evaluation return is logged after each collected episode")
    # With the actor and online.eval_samples each evaluation plays the mode and then the samples (DreamerV3
    # evaluates samples); the samples draw from the agent's checkpointed stream, so a resume stays bit-identical.
    acting = online + ["actor.enabled=true", "actor.units=16", "actor.value_units=16", "plan.planner=actor",
                       "online.eval_samples=true", "online.eval_episodes=2"]
    whole_a, halves_a = os.path.join(tmp, "actor_whole"), os.path.join(tmp, "actor_halves")
    r1 = subprocess.run(train_args(whole_a, 6, acting), capture_output=True, text=True)
    r2 = subprocess.run(train_args(halves_a, 3, acting), capture_output=True, text=True)
    r3 = subprocess.run(train_args(halves_a, 6, acting), capture_output=True, text=True)
    with open(os.path.join(whole_a, "metrics.jsonl")) as f:
        evals = [json.loads(line) for line in f if "eval_return" in line]
    check(r1.returncode == 0 and len(evals) == 2 and
          all("eval_sample_return" in e and "eval_sample_return_std" in e for e in evals),
          "online.eval_samples logs the samples' return beside the mode's: " + (r1.stderr.strip() or str(evals)))
    with open(os.path.join(whole_a, "latest.safetensors"), "rb") as a, \
         open(os.path.join(halves_a, "latest.safetensors"), "rb") as b:
        check(r2.returncode == 0 and r3.returncode == 0 and a.read() == b.read(),
              "an online run evaluating the actor's samples resumes bit-identical: " + r3.stderr.strip())
    out = os.path.join(tmp, "online_curves.png")
    r = viz("curves", "--run", whole, "--out", out)
    check(r.returncode == 0 and probe(out)[0] == "png", "curves of the online run, eval_return included: " + r.stdout.strip())

    # wm-viz scores: the run and a copy whose evaluations are 10 higher (a second "seed") over a reference file.
    higher = os.path.join(tmp, "higher")
    shutil.copytree(whole, higher)
    with open(os.path.join(higher, "metrics.jsonl"), "w") as f:
        for r in [json.loads(line) for line in open(os.path.join(whole, "metrics.jsonl"))]:
            if "eval_return" in r:
                r["eval_return"] += 10
            f.write(json.dumps(r) + "\n")
    reference = os.path.join(tmp, "reference.csv")
    with open(reference, "w") as f:
        f.write("task,method,seeds,10k,20k\ncartpole-swingup,dreamerv3,10,82,169\ncartpole-swingup,drqv2,10,,102\n")
    mean = sum(r["eval_return"] for r in returns) / len(returns) + 5
    r = viz("scores", "--reference", reference, "--out", os.path.join(tmp, "scores"), whole, higher)
    row = [l for l in r.stdout.splitlines() if l.startswith("| cartpole-swingup | 10k |")]
    check(r.returncode == 0 and len(row) == 1 and f"| {mean:.0f} +- 5 (2) | 82 | — |" in row[0] and
          probe(os.path.join(tmp, "scores", "scores.png"))[0] == "png",
          "wm-viz scores averages two runs per 10k steps beside the reference: " + (row[0] if row else r.stderr))
    with open(reference, "a") as f:
        f.write("cartpole-swingup,curl,10,12\n")
    r = viz("scores", "--reference", reference, "--out", os.path.join(tmp, "scores"), whole)
    check(r.returncode == 1 and "reference.csv:4: 4 fields, the header has 5" in r.stderr,
          "a short reference row is named by its line: " + r.stderr.strip())

    # wm plan, the camera path, fed by ffmpeg as a real producer: exactly one action line per frame.
    producer = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=96x72:rate=10",
                                 "-frames:v", "7", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], stdout=subprocess.PIPE)
    r = subprocess.run([WM, "plan", "--run", run64, "--frames", "-", "--frame-size", "96x72"], stdin=producer.stdout,
                       capture_output=True, text=True)
    producer.wait()
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 7 and all(len(l.split()) == 1 and abs(float(l)) <= 1 for l in lines),
          f"wm plan on 7 ffmpeg testsrc frames (96x72, resized): {len(lines)} action lines; " + r.stderr.strip())
    episode = os.path.join(data, sorted(n for n in os.listdir(data) if n.startswith("episode_"))[0])
    r = subprocess.run([WM, "plan", "--run", run64, "--frames", episode], capture_output=True, text=True)
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 126,
          f"wm plan on a recorded episode's 126 PNG frames: {len(r.stdout.splitlines())} lines")
    frame = 96 * 72 * 3
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=96x72:rate=10",
                          "-frames:v", "3", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True).stdout
    r = subprocess.run([WM, "plan", "--run", run64, "--frames", "-", "--frame-size", "96x72"],
                       input=raw[:2 * frame + 1000], capture_output=True)
    check(r.returncode == 1 and len(r.stdout.splitlines()) == 2 and b"frame 2 is truncated: 1000 of 20736" in r.stderr,
          "a truncated last frame ends it with a message after 2 lines: " + r.stderr.decode().strip())
    with open(os.path.join(run64, "plan_metrics.jsonl")) as f:
        latencies = [json.loads(line)["latency_ms"] for line in f]
    check(len(latencies) == 7 + 126 + 2 and all(l > 0 for l in latencies), "per-frame latency in plan_metrics.jsonl")

    # Ctrl-C while it waits for a frame: the summary line, exit 0, and every action already printed kept.
    plan = subprocess.Popen([WM, "plan", "--run", run64, "--frames", "-", "--frame-size", "96x72"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    plan.stdin.write(raw[:2 * frame])
    plan.stdin.flush()
    printed = [plan.stdout.readline(), plan.stdout.readline()]
    plan.send_signal(signal.SIGINT)
    plan.wait(timeout=60)  # stdin stays open: only the signal can end the wait for frame 3
    out, err = plan.communicate(timeout=60)
    plan.stdin.close()
    check(plan.returncode == 0 and all(printed) and out == b"" and b"stopped on a signal" in err and b"2 frames" in err,
          "Ctrl-C while waiting for frame 2 stops it cleanly: " + err.decode().strip().replace("\n", " | "))
    # A camera path that is not one. (No V4L2 device exists on the test machines, so capture itself is not run.)
    for source, message in [("/dev/null", "/dev/null: not a V4L2 device (VIDIOC_QUERYCAP"),
                            ("/dev/video63", "--frames /dev/video63: No such file or directory"),
                            (os.path.join(run64, "config.yaml"), "nor a V4L2 device")]:
        r = subprocess.run([WM, "plan", "--run", run64, "--frames", source], capture_output=True, text=True)
        check(r.returncode == 1 and r.stdout == "" and message in r.stderr, f"--frames {source}: " + r.stderr.strip())

    r = subprocess.run([WM, "eval", "--run", run, "--env", "cartpole-swingup"], capture_output=True, text=True)
    check(r.returncode != 0 and "the model sees 32x32 frames" in r.stderr, "a 32x32 model is refused: " + r.stderr.strip())

    # Refusals.
    r = viz("recon", "--run", os.path.join(tmp, "nope"), "--data", data, "--out", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "no such run directory" in r.stderr, "a missing run: " + r.stderr.strip())
    r = viz("curves", "--run", os.path.join(tmp, "nope"), "--out", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "no such run directory" in r.stderr, "curves of a missing run: " + r.stderr.strip())
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    r = viz("dataset", "--data", empty, "--out", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "no episodes" in r.stderr, "an empty dataset: " + r.stderr.strip())
    r = viz("openloop", "--run", run, "--data", empty, "--out", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "no episodes" in r.stderr, "openloop on an empty dataset: " + r.stderr.strip())
    with open(os.path.join(run, "config.yaml")) as f:
        text = f.read()
    with open(os.path.join(run, "config.yaml"), "w") as f:
        f.write(text.replace("deter: 16", "deter: 24"))
    r = viz("recon", "--run", run, "--data", data, "--out", os.path.join(tmp, "x.png"))
    check(r.returncode != 0 and "different models: model.deter: 24 vs 16" in r.stderr,
          "a checkpoint that does not fit the config: " + r.stderr.strip())
    check(not os.path.exists(os.path.join(tmp, "x.png")), "nothing written when refused")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
