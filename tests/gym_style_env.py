"""A pendulum with Gymnasium's interface, numpy only, for testing tools/gym_env.py (Gymnasium is not a Debian
package). Torques in [-2, 2]; episodes truncated after 60 steps; render() gives 60 x 80 RGB."""
import numpy as np


class Box:
    def __init__(self, low, high, shape):
        self.low, self.high, self.shape = np.full(shape, low), np.full(shape, high), shape


class Pendulum:
    def __init__(self, fail_at=0):
        self.action_space = Box(-2.0, 2.0, (1,))
        self.fail_at = fail_at
        self.steps_taken = 0

    def reset(self, seed=None):
        rng = np.random.default_rng(seed)
        self.theta, self.speed, self.t = rng.uniform(-np.pi, np.pi), rng.uniform(-1, 1), 0
        return self.observe(), {}

    def observe(self):
        return np.array([np.cos(self.theta), np.sin(self.theta), self.speed], np.float32)

    def step(self, action):
        torque = float(np.asarray(action).reshape(-1)[0])
        if not -2.0 <= torque <= 2.0:
            raise ValueError(f"torque {torque} outside [-2, 2]")
        self.steps_taken += 1
        if self.fail_at and self.steps_taken == self.fail_at:
            raise RuntimeError("encoder cable unplugged")
        self.speed = np.clip(self.speed + 0.05 * (3 * 10.0 / 2 * np.sin(self.theta) + 3.0 * torque), -8, 8)
        self.theta = (self.theta + 0.05 * self.speed + np.pi) % (2 * np.pi) - np.pi
        self.t += 1
        reward = -(self.theta ** 2 + 0.1 * self.speed ** 2 + 0.001 * torque ** 2)
        return self.observe(), reward, False, self.t >= 60, {}

    def render(self):
        frame = np.full((60, 80, 3), 255, np.uint8)
        for r in np.linspace(0, 25, 40):
            x, y = int(40 + r * np.sin(self.theta)), int(30 - r * np.cos(self.theta))
            frame[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = (200, 40, 40)
        return frame


def make():
    return Pendulum()


def make_failing():
    return Pendulum(fail_at=70)
