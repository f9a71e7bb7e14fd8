#!/usr/bin/env python3
"""A point mass on a plane, served over wm's environment protocol, for the tests (numpy only).

The agent pushes a mass (position, velocity) toward a goal; the frame shows the mass and the goal, the state gives
position and velocity (a frame alone does not show the velocity). Frames are 48 x 40, so wm resizes them.

    env_point_mass.py [--length T] [--control-hz F] [--tcp PORT] [--stay] [--fault KIND --at N]

--stay: reaching the goal does not end the episode (the task is to reach it and stay there).

--tcp PORT serves one connection on 127.0.0.1:PORT (after printing "listening" on stderr) instead of stdin/stdout.
--fault KIND misbehaves at the N-th step message (1-based, counted over the whole connection):
short_payload, nan_reward, bad_bytes, bad_state, error, close, stall, bad_json. bad_hello breaks the first message.
"""
import argparse
import json
import math
import socket
import sys
import time

import numpy as np

H, W = 48, 40
STATE_DIM, ACTION_DIM = 4, 2
DT, GOAL_RADIUS = 0.1, 0.08


def render(position, goal):
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:, :] = (30, 40, 60)
    ys, xs = np.mgrid[0:H, 0:W]
    for (x, y), colour, radius in ((goal, (60, 200, 60), 4.0), (position, (230, 80, 40), 3.0)):
        cx, cy = (x + 1.0) / 2.0 * (W - 1), (y + 1.0) / 2.0 * (H - 1)
        frame[(xs - cx) ** 2 + (ys - cy) ** 2 <= radius ** 2] = colour
    return frame


class PointMass:
    def __init__(self, length, stay=False):
        self.length, self.stay = length, stay
        self.rng = np.random.default_rng(0)

    def reset(self, seed):
        self.rng = np.random.default_rng(seed)
        self.position = self.rng.uniform(-0.8, 0.8, 2)
        self.velocity = np.zeros(2)
        self.goal = self.rng.uniform(-0.6, 0.6, 2)
        self.t = 0
        return self.observe(0.0, False)

    def step(self, action):
        action = np.clip(np.asarray(action, float), -1.0, 1.0)
        self.velocity = 0.9 * self.velocity + DT * 2.0 * action
        self.position = np.clip(self.position + DT * self.velocity, -1.0, 1.0)
        self.t += 1
        distance = float(np.linalg.norm(self.position - self.goal))
        reward = math.exp(-4.0 * distance)
        terminal = distance < GOAL_RADIUS and not self.stay
        return self.observe(reward, terminal)

    def observe(self, reward, terminal):
        last = terminal or self.t >= self.length
        state = [float(v) for v in np.concatenate([self.position, self.velocity])]
        frame = render(self.position, self.goal)
        header = {"reward": reward, "terminal": bool(terminal), "last": bool(last), "state": state,
                  "bytes": frame.size}
        return header, frame.tobytes()


def serve(read_line, write, args):
    hello = {"wm_env": 1, "image": [H, W, 3], "action_dim": ACTION_DIM, "state_dim": STATE_DIM,
             "control_hz": args.control_hz}
    if args.fault == "bad_hello":
        hello["action_dim"] = "two"
    write((json.dumps(hello) + "\n").encode())
    env, steps = PointMass(args.length, args.stay), 0
    period = 1.0 / args.control_hz if args.control_hz > 0 else 0.0
    while True:
        line = read_line()
        if not line:
            return
        message = json.loads(line)
        if "close" in message:
            return
        if "reset" in message:
            header, payload = env.reset(int(message["reset"]))
        else:
            steps += 1
            if len(message["step"]) != ACTION_DIM:
                write((json.dumps({"error": "expected %d actions" % ACTION_DIM}) + "\n").encode())
                return
            if period:
                time.sleep(period)
            header, payload = env.step(message["step"])
            if args.fault and steps == args.at:
                fault = args.fault
                if fault == "close":
                    return
                if fault == "stall":
                    time.sleep(3600)
                if fault == "error":
                    write((json.dumps({"error": "motor 2 overheated"}) + "\n").encode())
                    return
                if fault == "nan_reward":
                    header["reward"] = float("nan")  # Python writes NaN, which is not JSON
                if fault == "bad_bytes":
                    header["bytes"] = len(payload) - 3
                if fault == "bad_state":
                    header["state"] = header["state"][:-1]
                if fault == "bad_json":
                    write(b"{\"reward\": 0.5, \"terminal\": fals\n")
                    return
                if fault == "short_payload":
                    write((json.dumps(header) + "\n").encode() + payload[: len(payload) // 2])
                    return
        write((json.dumps(header) + "\n").encode() + payload)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--control-hz", type=float, default=0.0)
    parser.add_argument("--tcp", type=int, default=0)
    parser.add_argument("--fault", default="")
    parser.add_argument("--at", type=int, default=1)
    parser.add_argument("--stay", action="store_true")
    args = parser.parse_args()
    if args.tcp:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", args.tcp))
        server.listen(1)
        print("listening", file=sys.stderr, flush=True)
        connection, _ = server.accept()
        stream = connection.makefile("rb")

        def write(data):
            connection.sendall(data)

        serve(stream.readline, write, args)
        connection.close()
        return

    def write(data):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    serve(sys.stdin.buffer.readline, write, args)


if __name__ == "__main__":
    main()
