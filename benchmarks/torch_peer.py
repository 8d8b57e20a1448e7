"""The PyTorch peer: the same GANs and the same training step, written the way a PyTorch user
would, in eager mode. Imported only inside a worker process (see `run.py`); never imports
TensorFlow, so its memory and threads are its own.

Same maths as `tfgan_orig.GAN` with k = 1:
- MLP: G 100 -> ReLU 1200 -> ReLU 1200 -> sigmoid 784; D dropout(0.2) -> maxout 240x5 ->
  dropout(0.5) -> maxout 240x5 -> dropout(0.5) -> 1 logit; uniform noise U(-sqrt 3, sqrt 3); the
  paper's SGD (lr 0.1 / 1.000004^t, momentum ramp), in Keras' form `m <- mu m - lr g; w <- w + m`.
- DCGAN 28x28: G Dense(7*7*2F) -> BN -> ReLU -> ConvT(F, 4, s2) -> BN -> ReLU -> ConvT(1, 4, s2)
  -> tanh; D Conv(F, 4, s2) -> LReLU(0.2) -> Conv(2F, 4, s2) -> BN -> LReLU -> Dense 1; normal
  noise; Adam(2e-4, 0.5, eps 1e-7).
- One step: D on a real batch and on detached fakes (two D calls, as in the Keras GAN: separate
  batch-norm statistics), loss softplus(-r) + softplus(f); then G through the same dropped-out D,
  loss softplus(-f) (non-saturating). During the G update D's parameters do not require grad, so
  no D weight gradients are computed (the Keras step computes none either).
"""

import gzip
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from steps import TimedSteps

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
_SQRT3 = math.sqrt(3.0)


def load_images(quick, batch, seed=0):
    """Fashion-MNIST train images as uint8 [n, 28, 28] (random pixels if not on this machine)."""
    n = max(4 * batch, 512) if quick else 60000
    if os.path.exists(FASHION):
        with gzip.open(FASHION, "rb") as f:
            raw = f.read()
        ndim = raw[3]
        shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        x = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)[:n]
        return x, "fashion_mnist"
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8), "synthetic"


class Maxout(nn.Module):
    def __init__(self, d_in, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.proj = nn.Linear(d_in, units * pieces)

    def forward(self, x):
        return self.proj(x).view(-1, self.units, self.pieces).amax(-1)


class MLPGenerator(nn.Module):
    def __init__(self, latent, hidden):
        super().__init__()
        dims = (latent,) + tuple(hidden)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(dims[-1], 784)

    def forward(self, z):
        h = z
        for layer in self.hidden:
            h = F.relu(layer(h))
        return torch.sigmoid(self.out(h))


class MaxoutDiscriminator(nn.Module):
    def __init__(self, units, pieces):
        super().__init__()
        self.m0 = Maxout(784, units, pieces)
        self.m1 = Maxout(units, units, pieces)
        self.out = nn.Linear(units, 1)

    def forward(self, x):
        h = F.dropout(x.reshape(x.shape[0], -1), 0.2, self.training)
        h = F.dropout(self.m0(h), 0.5, self.training)
        h = F.dropout(self.m1(h), 0.5, self.training)
        return self.out(h)


class DCGANGenerator(nn.Module):
    def __init__(self, latent, base):
        super().__init__()
        self.c = 2 * base
        self.project = nn.Linear(latent, 7 * 7 * self.c, bias=False)
        self.bn0 = nn.BatchNorm2d(self.c, momentum=0.1, eps=1e-5)
        self.deconv1 = nn.ConvTranspose2d(self.c, base, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(base, momentum=0.1, eps=1e-5)
        self.deconv_out = nn.ConvTranspose2d(base, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.project(z).view(-1, self.c, 7, 7)))
        h = F.relu(self.bn1(self.deconv1(h)))
        return torch.tanh(self.deconv_out(h))


class DCGANDiscriminator(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.conv0 = nn.Conv2d(1, base, 4, 2, 1)
        self.conv1 = nn.Conv2d(base, 2 * base, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * base, momentum=0.1, eps=1e-5)
        self.out = nn.Linear(2 * base * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv0(x), 0.2)
        h = F.leaky_relu(self.bn1(self.conv1(h)), 0.2)
        return self.out(h.flatten(1))


def _uniform_init(module, scale):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale) if p.dim() > 1 else p.zero_()


def _normal_init(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()


class PaperSGD:
    """Keras-form momentum SGD with the paper's schedules: `m <- mu(t) m - lr(t) g; w <- w + m`."""

    def __init__(self, params, steps_per_epoch=600):
        self.params = [p for p in params if p.requires_grad]
        self.bufs = [torch.zeros_like(p) for p in self.params]
        self.t = 0
        self.ramp = (1 * steps_per_epoch, 250 * steps_per_epoch)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        lr = max(0.1 * 1.000004 ** (-self.t), 1e-6)
        a, b = self.ramp
        mu = 0.5 + 0.2 * min(max((self.t - a) / max(b - a, 1), 0.0), 1.0)
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.bufs, mu)
        torch._foreach_add_(self.bufs, grads, alpha=-lr)
        torch._foreach_add_(self.params, self.bufs)
        self.t += 1


class TorchRow(TimedSteps):
    """One worker row: build the nets, then `rep()` runs `steps` train steps."""

    def __init__(self, cfg):
        self.cfg = cfg
        torch.manual_seed(0)
        quick, model, batch = cfg["quick"], cfg["model"], cfg["batch"]
        x, self.data_name = load_images(quick, batch)
        if model == "mlp":
            self.g = MLPGenerator(100, (32, 32) if quick else (1200, 1200))
            self.d = MaxoutDiscriminator(16 if quick else 240, 5)
            _uniform_init(self.g, 0.05)
            _uniform_init(self.d, 0.005)
            self.g_opt = PaperSGD(self.g.parameters())
            self.d_opt = PaperSGD(self.d.parameters())
            self.data = torch.from_numpy(x.reshape(len(x), 784).astype(np.float32) / 255.0)
            self.noise = lambda n: torch.rand(n, 100) * (2 * _SQRT3) - _SQRT3
        elif model == "dcgan":
            base = 4 if quick else 64
            self.g, self.d = DCGANGenerator(100, base), DCGANDiscriminator(base)
            _normal_init(self.g)
            _normal_init(self.d)
            adam = dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-7, foreach=True)
            self.g_opt = torch.optim.Adam(self.g.parameters(), **adam)
            self.d_opt = torch.optim.Adam(self.d.parameters(), **adam)
            self.data = torch.from_numpy(x[:, None].astype(np.float32) / 127.5 - 1.0)
            self.noise = lambda n: torch.randn(n, 100)
        else:
            raise ValueError(f"Unknown model {model!r}")
        self.g.train()
        self.d.train()
        self.effective = {"torch_threads": torch.get_num_threads()}
        self._perm, self._pos = None, 0

    def _batch(self):
        b = self.cfg["batch"]
        if self._perm is None or self._pos + b > len(self._perm):
            self._perm, self._pos = torch.randperm(len(self.data)), 0
        idx = self._perm[self._pos : self._pos + b]
        self._pos += b
        return self.data.index_select(0, idx)

    def train_step(self):
        b = self.cfg["batch"]
        real = self._batch()
        with torch.no_grad():
            fake = self.g(self.noise(b))
        r, f = self.d(real), self.d(fake)
        d_loss = (F.softplus(-r) + F.softplus(f)).mean()
        self.d_opt.zero_grad()
        d_loss.backward()
        self.d_opt.step()
        self.d.requires_grad_(False)
        g_loss = F.softplus(-self.d(self.g(self.noise(b)))).mean()
        self.g_opt.zero_grad()
        g_loss.backward()
        self.g_opt.step()
        self.d.requires_grad_(True)
        return d_loss.detach()

    def one_step(self):
        return self.train_step()
