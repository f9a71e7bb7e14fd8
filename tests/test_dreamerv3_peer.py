"""DreamerV3's pieces against PyTorch and numpy, from outside: tests/elbo_dump.c writes a tiny world model with
categorical latents, the KL split with free bits, a twohot reward head, a continue head, SiLU, LayerNorm (the
convolutions' over channels), the normalised GRU and the action's own input layer, one batch, and wm's loss terms on
it; this file recomputes them in torch (float64) from the same weights, written from DreamerV3's equations, not from
wm's code:
- the categorical KL with unimix against torch.distributions' kl_divergence;
- the twohot encoding, cross-entropy and prediction against a straightforward numpy twin;
- the world model's loss terms (image, reward, KL, continue and the total) to 1e-6.
Usage: test_dreamerv3_peer.py ELBO_DUMP"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from wm_peer import check, failures, safetensors_header

DUMP = sys.argv[1]
torch.set_default_dtype(torch.float64)

# The dump's configuration (tests/elbo_dump.c), as DreamerV3 would name it.
B, L, A = 2, 4, 2
DETER, GROUPS, CLASSES, UNIMIX = 6, 3, 4, 0.01
KL_DYN, KL_REP, FREE_BITS, REWARD_SCALE = 0.5, 0.1, 0.05, 1.5
BINS, LOW, HIGH, EPS = 255, -20.0, 20.0, 1e-3


def load(path):
    header, data = safetensors_header(path)
    tensors = {}
    for name, t in header.items():
        if name != "__metadata__":
            begin, end = t["data_offsets"]
            tensors[name] = torch.tensor(np.frombuffer(data[begin:end], dtype=np.float32).reshape(t["shape"]),
                                         dtype=torch.float64)
    return header["__metadata__"], tensors


def close(got, want, tol=1e-6):
    return abs(got - want) <= tol * max(1.0, abs(want))


def probs(logits):  # (..., G * C) -> (..., G, C), 1% uniform mixed in
    p = F.softmax(logits.reshape(*logits.shape[:-1], -1, CLASSES), -1)
    return (1 - UNIMIX) * p + UNIMIX / CLASSES


def symlog(x):
    return np.sign(x) * np.log1p(np.abs(x))


def symexp(x):
    return np.sign(x) * np.expm1(np.abs(x))


BIN_VALUES = np.linspace(LOW, HIGH, BINS)


def twohot(y):
    """numpy twin: weight on the two bins around symlog(y), split by distance; past either end, the end bin."""
    x = symlog(np.float64(y))
    out = np.zeros(BINS)
    if x <= LOW or x >= HIGH:
        out[0 if x <= LOW else BINS - 1] = 1.0
        return out
    k = min(np.searchsorted(BIN_VALUES, x, side="right") - 1, BINS - 2)
    w = (x - BIN_VALUES[k]) / (BIN_VALUES[k + 1] - BIN_VALUES[k])
    out[k], out[k + 1] = 1 - w, w
    return out


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "elbo.safetensors")
    r = subprocess.run([DUMP, path], capture_output=True, text=True)
    check(r.returncode == 0, "elbo_dump writes the model, the batch and its losses: " + r.stderr[-200:])
    meta, T = load(path)

# The categorical KL: wm's against torch.distributions, summed over the groups.
q, p = probs(T["kl.logits_q"]), probs(T["kl.logits_p"])
want = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=q),
                                         torch.distributions.Categorical(probs=p)).sum(-1)
worst = (T["kl.value"] - want).abs().max().item()
check(worst <= 1e-5 * max(1.0, want.abs().max().item()), f"categorical KL with unimix: worst {worst:.2e} of "
      f"{want.abs().max().item():.3f} against torch.distributions")

# Twohot against the numpy twin.
targets = T["twohot.targets"].numpy()
encoded = np.stack([twohot(y) for y in targets])
worst = np.abs(T["twohot.encoded"].numpy() - encoded).max()
check(worst <= 1e-5, f"twohot encodings of {len(targets)} targets (ends, between bins, past both ends): worst {worst:.2e}")
log_p = F.log_softmax(T["twohot.logits"], -1).numpy()
ce = -(encoded * log_p).sum(-1)
worst = np.abs(T["twohot.loss"].numpy() - ce).max()
check(worst <= 1e-4, f"twohot cross-entropy: worst {worst:.2e} of {np.abs(ce).max():.2f}")
pred = symexp((np.exp(log_p) * BIN_VALUES).sum(-1))
worst = np.abs(T["twohot.predicted"].numpy() - pred).max() / max(1.0, np.abs(pred).max())
check(worst <= 1e-5, f"twohot prediction symexp(E[bin]): worst relative {worst:.2e}")


# The world model, DreamerV3's way.
def dense(x, name, norm_act=True):
    y = x @ T[name + ".weight"].T + T[name + ".bias"]
    if not norm_act:
        return y
    y = F.layer_norm(y, y.shape[-1:], T[name + ".norm.scale"], T[name + ".norm.offset"], EPS)
    return F.silu(y)


def mlp(x, name, hidden):
    for i in range(hidden):
        x = dense(x, f"{name}.hidden{i + 1}")
    return dense(x, f"{name}.out", False)


def gru(x, h):
    """DreamerV3's normalised GRU: one projection of [x, h], normalised, then reset, update (biased by -1), candidate."""
    parts = x @ T["rssm.gru.weight_ih"].T + T["rssm.gru.bias_ih"] + h @ T["rssm.gru.weight_hh"].T + T["rssm.gru.bias_hh"]
    parts = F.layer_norm(parts, parts.shape[-1:], T["rssm.gru.norm.scale"], T["rssm.gru.norm.offset"], EPS)
    reset, update, cand = parts.split(DETER, -1)  # wm's block order: r, u, c
    reset, update = torch.sigmoid(reset), torch.sigmoid(update - 1)
    cand = torch.tanh(reset * cand)
    return update * cand + (1 - update) * h


def sample(pr, noise):
    """One-hot draws by inverse CDF at Phi(noise) of each group's first noise value."""
    u = 0.5 * torch.erfc(-noise.reshape(*noise.shape[:-1], GROUPS, CLASSES)[..., 0] / np.sqrt(2))
    below = torch.cumsum(pr, -1)
    pick = torch.clamp((below <= u[..., None]).sum(-1), max=CLASSES - 1)
    return F.one_hot(pick, CLASSES).to(pr.dtype).reshape(*pr.shape[:-2], -1)


def channel_norm(x, name):
    """LayerNorm over each pixel's channels (DreamerV3's after a convolution)."""
    x = x.permute(0, 2, 3, 1)
    x = F.layer_norm(x, x.shape[-1:], T[name + ".norm.scale"], T[name + ".norm.offset"], EPS)
    return x.permute(0, 3, 1, 2)


images, actions = T["input.images"], T["input.actions"]
x = images
for i in (1, 2):
    x = F.conv2d(x, T[f"encoder.conv{i}.weight"], T[f"encoder.conv{i}.bias"], stride=2)
    x = F.silu(channel_norm(x, f"encoder.conv{i}"))
embed = x.flatten(1).reshape(L, B, -1)
h, z = torch.zeros(B, DETER), torch.zeros(B, GROUPS * CLASSES)
noise = T["input.noise"].reshape(L, B, -1)
hs, zs, posts, priors = [], [], [], []
for t in range(L):
    a = actions.reshape(L, B, A)[t]
    if "rssm.action_input.weight" in T:  # DreamerV3's RSSM of 2024: z and the action each through their own layer
        x = torch.cat([dense(z, "rssm.input"), dense(a, "rssm.action_input")], -1)
    else:
        x = dense(torch.cat([z, a], -1), "rssm.input")
    h = gru(x, h)
    prior = probs(dense(dense(h, "rssm.prior.hidden"), "rssm.prior.logits", False))
    post = probs(dense(dense(torch.cat([h, embed[t]], -1), "rssm.posterior.hidden"), "rssm.posterior.logits", False))
    z = sample(post, noise[t])
    hs.append(h), zs.append(z), posts.append(post), priors.append(prior)
features = torch.cat([torch.cat(hs), torch.cat(zs)], -1)  # (L B, D + S), time-major as wm's rows
N = L * B
decoded = (features @ T["decoder.dense.weight"].T + T["decoder.dense.bias"])[:, :, None, None]
decoded = F.conv_transpose2d(decoded, T["decoder.deconv1.weight"].transpose(0, 1), T["decoder.deconv1.bias"], stride=2)
decoded = F.silu(channel_norm(decoded, "decoder.deconv1"))
decoded = F.conv_transpose2d(decoded, T["decoder.deconv2.weight"].transpose(0, 1), T["decoder.deconv2.bias"], stride=2)
image_nll = (0.5 * ((decoded - images) ** 2).sum() + images.numel() * 0.5 * np.log(2 * np.pi)).item() / N
reward_logits = mlp(features, "reward", 1)
reward_target = torch.tensor(np.stack([twohot(y) for y in T["input.rewards"].numpy()]))
reward_nll = -(reward_target * F.log_softmax(reward_logits, -1)).sum().item() / N
kl = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=torch.cat(posts)),
                                       torch.distributions.Categorical(probs=torch.cat(priors))).sum(-1)
logit = mlp(features, "continue", 1)[:, 0]
c = T["input.continues"]
continue_nll = (F.softplus(logit) - c * logit).mean().item()
# dyn = max(free, KL(sg(q) || p)) and rep = max(free, KL(q || sg(p))) have the same value: the split is in the
# gradients alone.
loss = image_nll + REWARD_SCALE * reward_nll + (KL_DYN + KL_REP) * torch.clamp(kl, min=FREE_BITS).mean().item() + \
    continue_nll
for name, value in [("image_nll", image_nll), ("reward_nll", reward_nll), ("kl", kl.mean().item()),
                    ("continue_nll", continue_nll), ("loss", loss)]:
    got = float(meta[name])
    check(close(got, value), f"world model {name}: wm {got:.9g}, torch {value:.9g}")
check("latent: categorical" in meta["config"] and "norm: layer" in meta["config"], "the dump ran DreamerV3's model")

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
