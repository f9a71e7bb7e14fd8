"""Episodes against a real peer: numpy writes what PlaNet/Dreamer write, our reader takes it, our writer writes it
back, numpy reads that; PNG dir -> npz -> PNG dir holds bit for bit; every malformed input gets one line naming
the file and the frame/row/key, and a non-zero exit; nothing is written into an input dataset.
Usage: test_episodes_peer.py WM EPISODE_COPY"""
import io, os, shutil, struct, subprocess, sys, tempfile, zipfile, zlib
import numpy as np

WM, COPY = sys.argv[1], sys.argv[2]
failures = []
checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def episode_arrays(T=9, A=2, seed=0):
    rng = np.random.RandomState(seed)
    image = rng.randint(0, 256, (T, 64, 64, 3), dtype=np.uint8)
    action = rng.uniform(-1, 1, (T, A)).astype(np.float32)
    reward = rng.rand(T).astype(np.float32)
    action[0] = 0
    reward[0] = 0
    return image, action, reward


def tree_snapshot(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


work = tempfile.mkdtemp(prefix="wm-peer-")
try:
    # numpy -> our reader -> our writer -> numpy, for savez and savez_compressed, float32 and float64 inputs.
    image, action, reward = episode_arrays()
    first = np.zeros(len(reward), bool)
    first[0] = True
    np.savez(f"{work}/stored.npz", image=image, action=action, reward=reward)
    np.savez_compressed(f"{work}/deflated.npz", image=image, action=action.astype(np.float64), reward=reward,
                        is_first=first, is_terminal=np.zeros(len(reward), bool))
    for name in ["stored", "deflated"]:
        r = run(COPY, f"{work}/{name}.npz", f"{work}/{name}_ours.npz")
        check(r.returncode == 0, f"copy {name}: {r.stderr}")
        back = np.load(f"{work}/{name}_ours.npz")
        check(back["image"].dtype == np.uint8 and np.array_equal(back["image"], image), f"{name}: image round trip")
        check(back["action"].dtype == np.float32 and np.array_equal(back["action"], action), f"{name}: action")
        check(back["reward"].dtype == np.float32 and np.array_equal(back["reward"], reward), f"{name}: reward")
        check(np.array_equal(back["is_first"], first), f"{name}: is_first")
        check(back["is_terminal"].dtype == np.bool_ and not back["is_terminal"].any(), f"{name}: is_terminal")
        check(np.array_equal(back["discount"], np.ones(len(reward), np.float32)), f"{name}: discount")

    # PNG dir -> npz -> PNG dir -> npz: bit for bit, and steps.csv unchanged as text.
    r = run(WM, "collect", "--env", "reacher-easy", "--episodes", "1", "--out", f"{work}/collected", "--seed", "4")
    check(r.returncode == 0, f"collect: {r.stderr}")
    png = f"{work}/collected/episode_000000"
    check(run(COPY, png, f"{work}/a.npz").returncode == 0, "png -> npz")
    check(run(COPY, f"{work}/a.npz", f"{work}/b").returncode == 0, "npz -> png")
    check(run(COPY, f"{work}/b", f"{work}/c.npz").returncode == 0, "png -> npz again")
    a, c = np.load(f"{work}/a.npz"), np.load(f"{work}/c.npz")
    for key in a.files:
        check(np.array_equal(a[key], c[key]) and a[key].dtype == c[key].dtype, f"png round trip: {key}")
    check(open(f"{png}/steps.csv").read() == open(f"{work}/b/steps.csv").read(), "png round trip: steps.csv text")
    check(a["image"].shape == (251, 64, 64, 3) and a["action"].shape == (251, 2), "collected shapes")
    r = run(COPY, f"{work}/a.npz", f"{work}/c.npz")
    check(r.returncode != 0 and "already exists" in r.stderr, "writer refuses to overwrite an episode")

    # Malformed inputs: (name, how to break a copy of the PNG episode or write an npz, text the error must hold).
    def png_case(name, breaker):
        d = f"{work}/bad/{name}"
        shutil.copytree(png, d)
        breaker(d)
        return d

    def truncate(d):
        p = f"{d}/frame_000007.png"
        data = open(p, "rb").read()
        open(p, "wb").write(data[: len(data) // 2])

    def corrupt(d):
        p = f"{d}/frame_000003.png"
        data = bytearray(open(p, "rb").read())
        data[60] ^= 0xFF
        open(p, "wb").write(bytes(data))

    def other_size(d):
        shutil.copy(f"{work}/b/frame_000000.png", f"{d}/frame_000005.png")
        np.savez(f"{work}/tiny.npz", image=np.zeros((1, 32, 48, 3), np.uint8), action=np.zeros((1, 2), np.float32),
                 reward=np.zeros(1, np.float32))
        run(COPY, f"{work}/tiny.npz", f"{work}/tiny")
        shutil.copy(f"{work}/tiny/frame_000000.png", f"{d}/frame_000005.png")

    def edit_steps(transform):
        def breaker(d):
            lines = open(f"{d}/steps.csv").read().splitlines()
            open(f"{d}/steps.csv", "w").write("\n".join(transform(lines)) + "\n")
        return breaker

    def put(lines, row, text):
        lines[row] = text
        return lines

    os.makedirs(f"{work}/bad")
    cases = [
        (png_case("truncated", truncate), "frame 7"),
        (png_case("corrupt", corrupt), "frame 3"),
        (png_case("size", other_size), "frame 5 is 48x32"),
        (png_case("rows", edit_steps(lambda l: l[:-3])), "frame_000248.png exists but steps.csv has 248 rows"),
        (png_case("columns", edit_steps(lambda l: put(l, 4, l[4] + ",0"))), "line 5: 6 columns, expected 5"),
        (png_case("text", edit_steps(lambda l: put(l, 6, "0.1,abc,0,0,0"))), "line 7, column 2: 'abc' is not a number"),
        (png_case("nan", edit_steps(lambda l: put(l, 9, "nan,0,1,0,0"))), "line 10, column 1: nan is not finite"),
        (png_case("header", edit_steps(lambda l: put(l, 0, "a0,action_1,reward,is_first,is_terminal"))),
         "column 1 is 'a0', expected 'action_0'"),
    ]
    image, action, reward = episode_arrays()
    np.savez(f"{work}/bad/noimage.npz", action=action, reward=reward)
    np.savez(f"{work}/bad/dtype.npz", image=image.astype(np.int16), action=action, reward=reward)
    np.savez(f"{work}/bad/lengths.npz", image=image, action=action[:4], reward=reward)
    np.savez(f"{work}/bad/inf.npz", image=image, action=action, reward=np.where(np.arange(9) == 6, np.inf, reward))
    open(f"{work}/bad/garbage.npz", "wb").write(b"PK\x03\x04 this is not a zip archive")
    # An image whose .npy shape multiplies past 2^64 to a small count: once an assertion in the resizer.
    with zipfile.ZipFile(f"{work}/bad/overflow.npz", "w") as z:
        header = "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4, 3), }"
        header += " " * (118 - len(header)) + "\n"
        z.writestr("image.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(48))
        for name, array in (("action", action[:1]), ("reward", reward[:1])):
            buffer = io.BytesIO()
            np.save(buffer, array)
            z.writestr(name + ".npy", buffer.getvalue())
    cases += [
        (f"{work}/bad/noimage.npz", "missing key 'image'"),
        (f"{work}/bad/dtype.npz", "key 'image': dtype '<i2' is not taken"),
        (f"{work}/bad/lengths.npz", "key 'action' has 4 steps, 'image' has 9"),
        (f"{work}/bad/inf.npz", "key 'reward', step 6: inf is not finite"),
        (f"{work}/bad/garbage.npz", "not a readable .npz"),
        (f"{work}/bad/overflow.npz", "element count overflows"),
    ]
    for path, expected in cases:
        r = run(WM, "info", path)
        lines = [l for l in r.stderr.splitlines() if l]
        check(r.returncode == 1, f"{path}: exit code {r.returncode}, wanted 1")
        check(len(lines) == 1 and path in lines[0] and expected in lines[0],
              f"{path}: message {r.stderr.strip()!r} lacks {expected!r}")

    # PNG frames as stored, whatever the file's kind: 16-bit scaled exactly, gamma chunks ignored, opaque RGBA taken,
    # translucent refused. Written by hand (zlib + struct), so no imaging library decides for us.
    def write_png(path, pixels, color_type, bit_depth, gamma=None):
        rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
        chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        h, w = pixels.shape[:2]
        body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
        if gamma is not None:
            body += chunk(b"gAMA", struct.pack(">I", int(gamma * 100000)))
        open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

    def episode_of(name, frame_writer):
        d = f"{work}/kinds/{name}"
        os.makedirs(d)
        for t in range(2):
            frame_writer(f"{d}/frame_{t:06d}.png")
        open(f"{d}/steps.csv", "w").write("action_0,reward,is_first,is_terminal\n0,0,1,0\n0.5,1,0,0\n")
        return d

    gray16 = np.full((4, 4), 32768, ">u2")
    rgb8 = np.zeros((4, 4, 3), np.uint8)
    rgb8[..., 0], rgb8[..., 1], rgb8[..., 2] = 10, 128, 250
    rgba = np.concatenate([rgb8, np.full((4, 4, 1), 255, np.uint8)], axis=2)
    translucent = rgba.copy()
    translucent[1, 2, 3] = 100
    kinds = [
        ("gray16", lambda p: write_png(p, gray16, 0, 16), [128, 128, 128]),  # 32768 * 255 / 65535 = 127.5
        ("gamma", lambda p: write_png(p, rgb8, 2, 8, gamma=0.2), [10, 128, 250]),
        ("rgba", lambda p: write_png(p, rgba, 6, 8), [10, 128, 250]),
    ]
    for name, writer, expected in kinds:
        d = episode_of(name, writer)
        r = run(COPY, d, f"{work}/kinds/{name}.npz")
        ok = r.returncode == 0
        if ok:
            image = np.load(f"{work}/kinds/{name}.npz")["image"]
            ok = list(image[0, 0, 0]) == expected and (image == image[0, 0, 0]).all()
        check(ok, f"a {name} PNG frame reads as stored: {expected} {r.stderr.strip()}")
    # steps.csv with a UTF-8 byte-order mark, or with CR-only line endings, reads as the plain one.
    for name, text in (("bom", "\ufeffaction_0,reward,is_first,is_terminal\n0,0,1,0\n0.5,1,0,0\n"),
                       ("cr", "action_0,reward,is_first,is_terminal\r0,0,1,0\r0.5,1,0,0\r")):
        d = episode_of(name, lambda p: write_png(p, rgb8, 2, 8))
        open(f"{d}/steps.csv", "w", encoding="utf-8", newline="").write(text)
        r = run(COPY, d, f"{work}/kinds/{name}.npz")
        ok = r.returncode == 0 and np.load(f"{work}/kinds/{name}.npz")["action"][1, 0] == 0.5
        check(ok, f"steps.csv with {name}: " + r.stderr.strip())
    d = episode_of("translucent", lambda p: write_png(p, translucent, 6, 8))
    r = run(WM, "info", d)
    check(r.returncode == 1 and "pixel (2, 1) is translucent (alpha 100)" in r.stderr,
          "a translucent frame is refused: " + r.stderr.strip())

    # A dataset with bad episodes: stops with the count, or skips them with --skip-bad; it is never written to.
    mixed = f"{work}/mixed"
    shutil.copytree(f"{work}/collected", mixed)
    shutil.copytree(f"{work}/bad/nan", f"{mixed}/episode_000001")
    shutil.copy(f"{work}/stored.npz", f"{mixed}/episode_000002.npz")
    shutil.copy(f"{work}/bad/noimage.npz", f"{mixed}/episode_000003.npz")
    before = tree_snapshot(mixed)
    r = run(WM, "info", mixed)
    check(r.returncode == 1 and "2 of 4 episodes are bad" in r.stderr, f"dataset stops: {r.stderr.strip()}")
    r = run(WM, "info", mixed, "--skip-bad")
    check(r.returncode == 0 and "skipped     2 bad episodes" in r.stdout and "episodes    2" in r.stdout,
          f"dataset --skip-bad: {r.stdout} {r.stderr}")
    check(tree_snapshot(mixed) == before, "nothing written into the input dataset")
    empty = f"{work}/empty"
    os.makedirs(empty)
    r = run(WM, "info", empty)
    check(r.returncode == 1 and "no episodes" in r.stderr, "empty dataset is refused")
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
