#!/usr/bin/env python3
"""PyTorch twin of wm's imagination update, for `wm bench train --imagination` to be held against (a bench peer,
not part of the product). The shapes are wm's defaults: the RSSM prior (stoch 30, deter 200, hidden 200, ELU), the
reward head (2 x 300), Dreamer V1's actor (4 x 400, ELU, a tanh-squashed normal) and value (3 x 400), horizon 15,
gamma 0.99, lambda 0.95, and one start per posterior state of a B x L batch (random states: speed only). One update
rolls the prior out from every start with the actor's sampled actions, computes the lambda-returns, takes the
actor's loss back through the dynamics (the world model frozen) and the value's regression onto the returns, and
steps both Adams with gradient clipping at 100.

Usage: python3 tools/torch_imagination.py [--threads 2] [--B 16] [--L 64] [--action-size 6] [--repeats 3]
Prints one JSON line with imagine_update_s (the median of the repeats after one warm-up update).
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

D, S, U, UNITS = 200, 30, 200, 400


def mlp(inp, out, layers, units, act=nn.ELU):
    mods, width = [], inp
    for _ in range(layers):
        mods += [nn.Linear(width, units), act()]
        width = units
    mods.append(nn.Linear(width, out))
    return nn.Sequential(*mods)


class Prior(nn.Module):
    """The RSSM's transition and prior: [z, a] -> U -> GRU -> h -> U -> (mean, std)."""

    def __init__(self, A):
        super().__init__()
        self.inp = nn.Linear(S + A, U)
        self.gru = nn.GRUCell(U, D)
        self.hidden = nn.Linear(D, U)
        self.mean, self.std = nn.Linear(U, S), nn.Linear(U, S)

    def forward(self, h, z, a, eps):
        h = self.gru(F.elu(self.inp(torch.cat([z, a], -1))), h)
        x = F.elu(self.hidden(h))
        return h, self.mean(x) + (F.softplus(self.std(x)) + 0.1) * eps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--B", type=int, default=16)
    p.add_argument("--L", type=int, default=64)
    p.add_argument("--action-size", type=int, default=6)
    p.add_argument("--horizon", type=int, default=15)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    A, H, N = a.action_size, a.horizon, a.B * a.L
    prior, reward = Prior(A), mlp(D + S, 1, 2, 300)
    for module in (prior, reward):
        module.requires_grad_(False)  # the world model is frozen; gradients flow through it to the actions
    actor, value = mlp(D + S, 2 * A, 4, UNITS), mlp(D + S, 1, 3, UNITS)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=8e-5, eps=1e-5)
    value_opt = torch.optim.Adam(value.parameters(), lr=8e-5, eps=1e-5)
    h0, z0 = torch.randn(N, D), torch.randn(N, S)
    gamma, lam = 0.99, 0.95

    def update():
        h, z, feats = h0, z0, [torch.cat([h0, z0], -1)]
        for _ in range(H):
            mean, std = actor(feats[-1]).chunk(2, -1)
            std = F.softplus(std) + 1e-4
            action = torch.tanh(mean + std * torch.randn_like(std))
            h, z = prior(h, z, action, torch.randn(N, S))
            feats.append(torch.cat([h, z], -1))
        f = torch.stack(feats)  # (H + 1, N, D + S)
        r, v = reward(f[1:]).squeeze(-1), value(f).squeeze(-1)
        returns, last = [], v[-1]
        for k in reversed(range(H)):
            last = r[k] + gamma * ((1 - lam) * v[k + 1] + lam * last)
            returns.append(last)
        R = torch.stack(returns[::-1])  # (H, N)
        actor_opt.zero_grad(set_to_none=True)
        (-R.mean()).backward()
        nn.utils.clip_grad_norm_(actor.parameters(), 100.0)
        actor_opt.step()
        value_opt.zero_grad(set_to_none=True)
        (0.5 * (value(f[:-1].detach()).squeeze(-1) - R.detach()) ** 2).mean().backward()
        nn.utils.clip_grad_norm_(value.parameters(), 100.0)
        value_opt.step()

    update()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        update()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "B": a.B, "L": a.L, "horizon": H,
                      "starts": N, "imagine_update_s": round(statistics.median(times), 4)}))


if __name__ == "__main__":
    main()
