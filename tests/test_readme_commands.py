"""Every command in the README's code blocks parses: for each `build/wm ...` or `build/wm-viz ...` line, the
subcommand's --help exits 0, and every --option the line uses is one that --help names.
Usage: test_readme_commands.py WM WM_VIZ SOURCE_ROOT"""
import os
import re
import shlex
import subprocess
import sys

WM, VIZ, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(os.path.join(ROOT, "README.md")).read()
failures, count, helps = [], 0, {}
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    for line in block.splitlines():
        for part in line.split("|"):
            words = shlex.split(part.split(" #")[0], posix=True) if part.strip() else []
            # mpirun's own options come first; the command starts at build/wm
            at = next((i for i, w in enumerate(words) if w in ("build/wm", "build/wm-viz")), None)
            if at is None or len(words) <= at + 1:
                continue
            binary = WM if words[at] == "build/wm" else VIZ
            sub = words[at + 1]
            if sub.startswith("--"):  # build/wm --version
                continue
            key = (binary, sub)
            if key not in helps:
                r = subprocess.run([binary, sub, "--help"], capture_output=True, text=True)
                helps[key] = r.stdout + r.stderr if r.returncode == 0 else None
            count += 1
            if helps[key] is None:
                failures.append(f"{words[at]} {sub} --help failed")
                continue
            for option in (w for w in words[at + 2:] if w.startswith("--")):
                if option not in helps[key]:
                    failures.append(f"`{part.strip()[:90]}`: {option} is not in `{words[at]} {sub} --help`")
for f in failures:
    print("FAIL " + f)
print(f"{count} README commands over {len(helps)} subcommands; {len(failures)} failed")
sys.exit(1 if failures or count == 0 else 0)
