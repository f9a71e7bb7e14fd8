#!/usr/bin/env python3
"""Serve a Gymnasium-style environment to wm over its environment protocol (README: "Your own system").

    python3 tools/gym_env.py FACTORY [--tcp PORT] [--control-hz F] [--repeat K] [--max-steps T]

FACTORY makes the environment: "module:function" or "path/to/file.py:function", called with no arguments; with
Gymnasium installed, "gymnasium:make" takes --id NAME and passes render_mode="rgb_array". The object needs:
  reset(seed=...)  -> (observation, info)
  step(action)     -> (observation, reward, terminated, truncated, info)
  render()         -> an (H, W, 3) uint8 RGB frame
  action_space     with .shape, and .low and .high if its actions are not in [-1, 1]
wm's actions in [-1, 1] are scaled to [low, high]. A flat observation vector goes to wm as the state. The bridge
speaks over stdin/stdout (wm train --env "exec:python3 tools/gym_env.py my_env.py:make"), or with --tcp PORT it
serves one connection at a time on 0.0.0.0:PORT (wm ... --env tcp:HOST:PORT), for a robot's computer. Python and
numpy only; nothing of wm is imported.
"""
import argparse
import importlib
import importlib.util
import json
import os
import socket
import sys
import time

import numpy as np


def load_factory(spec, gym_id):
    where, _, name = spec.rpartition(":")
    if not where:
        sys.exit(f"gym_env.py: FACTORY must be module:function or file.py:function, not {spec!r}")
    if where.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(where))[0], where)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    factory = getattr(module, name)
    if gym_id:
        return lambda: factory(gym_id, render_mode="rgb_array")
    return factory


def flat_state(observation):
    """A flat float vector, or None when the observation is not one (an image, a dict)."""
    try:
        array = np.asarray(observation, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array.reshape(-1) if array.ndim <= 1 and array.size > 0 else None


class Bridge:
    def __init__(self, env, args):
        self.env, self.args = env, args
        space = env.action_space
        self.action_dim = int(np.prod(space.shape))
        self.low = np.broadcast_to(np.asarray(getattr(space, "low", -1.0), np.float64), (self.action_dim,))
        self.high = np.broadcast_to(np.asarray(getattr(space, "high", 1.0), np.float64), (self.action_dim,))
        self.shape = space.shape

    def hello(self):
        observation, _ = self.env.reset(seed=0)
        self.state = flat_state(observation)
        frame = self.frame()
        return {"wm_env": 1, "image": list(frame.shape), "action_dim": self.action_dim,
                "state_dim": 0 if self.state is None else int(self.state.size), "control_hz": self.args.control_hz}

    def frame(self):
        frame = np.asarray(self.env.render())
        if frame.ndim != 3 or frame.shape[2] < 3:
            raise ValueError(f"render() gave an array of shape {frame.shape}, not (H, W, 3)")
        return np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)

    def reply(self, observation, reward, terminal, last):
        frame = self.frame()
        state = flat_state(observation)
        header = {"reward": float(reward), "terminal": bool(terminal), "last": bool(last or terminal),
                  "state": [] if state is None else [float(v) for v in state], "bytes": int(frame.size)}
        return (json.dumps(header, allow_nan=False) + "\n").encode() + frame.tobytes()

    def reset(self, seed):
        observation, _ = self.env.reset(seed=seed)
        self.steps = 0
        return self.reply(observation, 0.0, False, False)

    def step(self, action):
        action = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        scaled = self.low + (action + 1.0) * 0.5 * (self.high - self.low)
        total, terminal, last = 0.0, False, False
        for _ in range(self.args.repeat):
            observation, reward, terminated, truncated, _ = self.env.step(scaled.reshape(self.shape))
            total += float(reward)
            self.steps += 1
            terminal = bool(terminated)
            last = terminal or bool(truncated) or (self.args.max_steps and self.steps >= self.args.max_steps)
            if last:
                break
        return self.reply(observation, total, terminal, last)


def serve(bridge, read_line, write):
    write((json.dumps(bridge.hello()) + "\n").encode())
    while True:
        line = read_line()
        if not line:
            return
        try:
            message = json.loads(line)
            if "close" in message:
                return
            if "reset" in message:
                write(bridge.reset(int(message["reset"])))
            elif "step" in message:
                if len(message["step"]) != bridge.action_dim:
                    raise ValueError(f"a step of {len(message['step'])} actions; the environment takes "
                                     f"{bridge.action_dim}")
                write(bridge.step(message["step"]))
            else:
                raise ValueError(f"unknown message {line[:80]!r}")
        except Exception as e:  # the environment's failure goes to wm as one error message
            write((json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode())
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("factory")
    parser.add_argument("--id", default="", help="an environment id passed to the factory (gymnasium:make)")
    parser.add_argument("--tcp", type=int, default=0, help="serve on this TCP port instead of stdin/stdout")
    parser.add_argument("--control-hz", type=float, default=0.0, help="the environment's real-time rate, 0: none")
    parser.add_argument("--repeat", type=int, default=1, help="environment steps per wm step (action repeat)")
    parser.add_argument("--max-steps", type=int, default=0, help="end an episode after this many steps, 0: never")
    args = parser.parse_args()
    factory = load_factory(args.factory, args.id)
    if not args.tcp:
        bridge = Bridge(factory(), args)

        def write(data):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

        serve(bridge, sys.stdin.buffer.readline, write)
        return
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", args.tcp))
    server.listen(1)
    print(f"gym_env.py: serving {args.factory} on port {args.tcp}", file=sys.stderr, flush=True)
    while True:
        connection, peer = server.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = connection.makefile("rb")
        started = time.time()
        serve(Bridge(factory(), args), stream.readline, connection.sendall)
        connection.close()
        print(f"gym_env.py: {peer[0]} left after {time.time() - started:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
