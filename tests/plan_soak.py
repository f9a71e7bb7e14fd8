"""A long-lived wm plan: FRAMES frames of ffmpeg's testsrc (64x64 RGB24 on a pipe) into `wm plan`, its resident
memory read from /proc after 1,000 frames and at the end, its latency per frame from R/plan_metrics.jsonl
(p50 / p99 / max). Not in the suite (minutes long); BENCHMARKS.md quotes it.
Usage: plan_soak.py WM RUN FRAMES [wm plan options...]"""
import json
import os
import subprocess
import sys

WM, RUN, FRAMES = sys.argv[1], sys.argv[2], int(sys.argv[3])
extra = sys.argv[4:]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


metrics = os.path.join(RUN, "plan_metrics.jsonl")
if os.path.exists(metrics):
    os.remove(metrics)
ffmpeg = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=30",
                           "-frames:v", str(FRAMES), "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
                          stdout=subprocess.PIPE)
plan = subprocess.Popen([WM, "plan", "--run", RUN, "--frames", "-", "--frame-size", "64x64"] + extra,
                        stdin=ffmpeg.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
ffmpeg.stdout.close()
lines, at_1k, last = 0, None, None
for line in plan.stdout:
    lines += 1
    if lines == 1000:
        at_1k = rss_kib(plan.pid)
    if lines == FRAMES:
        last = rss_kib(plan.pid)  # before it exits: the last frame is printed, the process still holds everything
_, err = plan.communicate()
latencies = sorted(json.loads(l)["latency_ms"] for l in open(metrics))
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"wm plan {' '.join(extra)}: {lines} frames; RSS {at_1k} KiB after 1,000, {last} KiB after {lines:,} "
      f"(growth {(last - at_1k) if last and at_1k else 'n/a'} KiB); latency p50 {pick(0.5):.3f} ms, "
      f"p99 {pick(0.99):.3f} ms, max {latencies[-1]:.3f} ms; exit {plan.returncode}")
print(err.strip().splitlines()[-1] if err.strip() else "")
sys.exit(plan.returncode)
