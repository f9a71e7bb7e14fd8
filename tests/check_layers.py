#!/usr/bin/env python3
"""Every folder's README.md names the layers its files may include ("**May include:** core, ops"); this checks
every #include "layer/file.h" in the tree against it. Exits 1 naming each include that reaches a layer its folder
may not, or a code folder without the line."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
# A layer's name in an include path, and its folder.
FOLDERS = {
    "core": "src/core", "ops": "src/ops", "optim": "src/optim", "config": "src/config", "data": "data",
    "nets": "nets", "train": "src/train", "plan": "src/plan", "run": "src/run", "api": "src/api", "tools": "tools",
    "tests": "tests",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"', re.M)
ALLOWED = re.compile(r"\*\*May include:\*\*\s*(.*)")

failures = []
for layer, folder in FOLDERS.items():
    path = os.path.join(ROOT, folder)
    readme = os.path.join(path, "README.md")
    if not os.path.exists(readme):
        failures.append(f"{folder}/README.md: missing (it states the folder's layer and what it may include)")
        continue
    match = ALLOWED.search(open(readme, encoding="utf-8").read())
    if not match:
        failures.append(f"{folder}/README.md: no '**May include:**' line")
        continue
    words = [w.strip(" .`") for w in match.group(1).split(",")]
    allowed = {layer} | set(FOLDERS) if "everything" in words else {layer} | {w for w in words if w}
    unknown = allowed - set(FOLDERS)
    if unknown:
        failures.append(f"{folder}/README.md: unknown layers {sorted(unknown)}")
    for name in sorted(os.listdir(path)):
        if not name.endswith((".c", ".h")):
            continue
        text = open(os.path.join(path, name), encoding="utf-8").read()
        for included in INCLUDE.findall(text):
            if included in FOLDERS and included not in allowed:
                failures.append(f"{folder}/{name}: includes {included}/, which {folder}/README.md does not allow")

for line in failures:
    print("check_layers:", line)
print(f"check_layers: {len(FOLDERS)} folders, {'FAILED' if failures else 'every include within its layer'}")
sys.exit(1 if failures else 0)
