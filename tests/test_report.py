"""wm-viz report in a real browser: a tiny online run (its environment recorded), its report page, and Debian's
headless Chromium loading the page from disk with the network off: every section is in the DOM and every picture
decoded (the page's own script counts them), and a full-page screenshot is written. Args: wm, wm-viz, out dir."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from wm_peer import check, failures

wm, viz = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="wm_report_")
run, page = os.path.join(tmp, "run"), os.path.join(tmp, "report")
tiny = ["model.depth=4", "model.deter=16", "model.stoch=4", "model.hidden=16", "model.reward_layers=1",
        "model.reward_units=16", "data.batch=3", "data.length=8", "run.log_every=2", "plan.candidates=20",
        "plan.top_k=5", "plan.iterations=2", "online.steps_per_episode=4", "online.eval_every=1",
        "online.seed_episodes=1"]
args = [wm, "train", "--run", run, "--env", "cartpole-swingup", "--steps", "8", "--threads", "2"]
for s in tiny:
    args += ["--set", s]
r = subprocess.run(args, capture_output=True, text=True)
check(r.returncode == 0, "a tiny online run: " + (r.stderr.strip().splitlines() or [""])[-1])
r = subprocess.run([viz, "report", "--run", run, "--out", page], capture_output=True, text=True)
check(r.returncode == 0 and os.path.exists(os.path.join(page, "index.html")), "wm-viz report: " + r.stdout.strip()[-120:])
html = open(os.path.join(page, "index.html")).read() if os.path.exists(os.path.join(page, "index.html")) else ""
check("http://" not in html and "https://" not in html, "the page fetches nothing: no http(s) address in it")

chromium = shutil.which("chromium")
check(chromium is not None, "Debian's chromium is installed (tools/deps.sh test installs it)")
if chromium:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
    url = "file://" + os.path.join(page, "index.html")
    r = subprocess.run([chromium] + flags + ["--user-data-dir=" + os.path.join(tmp, "a"), "--dump-dom", url],
                       capture_output=True, text=True, timeout=120)
    dom = r.stdout
    for section in ["summary", "curves", "reconstructions", "openloop", "episode", "config"]:
        check(f'id="{section}"' in dom, f"the DOM holds the section '{section}'")
    m = re.search(r'data-images-rendered="(\d+)" data-images="(\d+)"', dom)
    check(m is not None and int(m.group(1)) == int(m.group(2)) == 5,
          "every picture decoded in the browser: " + (f"{m.group(1)} of {m.group(2)}" if m else "no count"))
    shot = os.path.join(sys.argv[3], "report_screenshot.png")
    r = subprocess.run([chromium] + flags + ["--user-data-dir=" + os.path.join(tmp, "b"), "--window-size=1400,5200",
                                             "--screenshot=" + shot, url], capture_output=True, text=True, timeout=120)
    check(os.path.exists(shot) and os.path.getsize(shot) > 50000, f"a screenshot of the whole page: {shot}")
shutil.rmtree(tmp, ignore_errors=True)
print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
