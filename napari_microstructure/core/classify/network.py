"""A small CNN that embeds a crop together with its pixel size, and a class head on top."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block(c_in: int, c_out: int, n_conv: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_conv):
        layers += [
            nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class CropNet(nn.Module):
    """Crop ``(N, 1, S, S)`` + log pixel size ``(N,)`` -> embedding ``(N, emb_dim)`` -> logits.

    Each crop is standardised to zero mean and unit variance first, so absolute brightness
    (which depends on the etch and the camera) carries no information. The pixel size enters
    as ``(log(µm/px) - ps_mean) / ps_std`` through a small MLP, concatenated to the pooled
    image features.
    """

    def __init__(self, n_classes: int, width: int = 16, emb_dim: int = 64) -> None:
        super().__init__()
        w = width
        # strided stem: fine texture survives in 16 channels at half resolution, and the
        # deeper stages stay cheap enough to train on a shared CPU
        self.stem = nn.Sequential(
            nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
        )
        self.stage2 = _block(w, 2 * w, 1)
        self.stage3 = _block(2 * w, 3 * w, 1)
        self.stage4 = _block(3 * w, 4 * w, 2)  # Grad-CAM target layer
        self.scale_mlp = nn.Sequential(nn.Linear(1, 16), nn.ReLU(inplace=True))
        self.embed = nn.Sequential(
            nn.Linear(4 * w + 16, emb_dim), nn.BatchNorm1d(emb_dim), nn.ReLU(inplace=True)
        )
        self.head = nn.Linear(emb_dim, n_classes)
        self.register_buffer("ps_mean", torch.zeros(()))
        self.register_buffer("ps_std", torch.ones(()))

    @property
    def cam_layer(self) -> nn.Module:
        return self.stage4

    def scale_input(self, pixel_size: torch.Tensor) -> torch.Tensor:
        return ((torch.log(pixel_size) - self.ps_mean) / self.ps_std).view(-1, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
        x = (x - mean) / std
        x = self.stage2(self.stem(x))
        x = self.stage3(F.max_pool2d(x, 2))
        return self.stage4(F.max_pool2d(x, 2))

    def embedding(self, x: torch.Tensor, pixel_size: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        return self.embed(torch.cat([pooled, self.scale_mlp(self.scale_input(pixel_size))], 1))

    def forward(
        self, x: torch.Tensor, pixel_size: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.embedding(x, pixel_size)
        return self.head(emb), emb


class FixedScale(nn.Module):
    """The network with its pixel-size input fixed, as a plain image -> logits module.

    Grad-CAM tools call ``model(images)``; this wrapper supplies the pixel size.
    """

    def __init__(self, net: CropNet, pixel_size: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.pixel_size = pixel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ps = self.pixel_size.expand(x.shape[0]) if self.pixel_size.ndim == 0 else self.pixel_size
        return self.net(x, ps)[0]


def supcon_loss(emb: torch.Tensor, labels: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) on L2-normalised embeddings."""
    z = F.normalize(emb, dim=1)
    sim = z @ z.T / temperature
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    n_pos = pos.sum(1)
    valid = n_pos > 0
    if not valid.any():
        return emb.sum() * 0.0
    mean_log_pos = (log_prob * pos).sum(1)[valid] / n_pos[valid]
    return -mean_log_pos.mean()
