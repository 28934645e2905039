"""A compact U-Net (Ronneberger et al. 2015) for per-pixel classification of micrographs.

Small on purpose: 16-32 base channels and 3-4 levels train in minutes on a laptop CPU. Batch
normalisation in evaluation mode is a fixed per-channel affine map, so predictions are the same
whether an image is processed whole or in overlapping tiles (away from the tile borders).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class _DoubleConv(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net with ``depth`` down-sampling steps; channels double at each step.

    Parameters
    ----------
    in_channels : 1 for grey micrographs, 3 for colour (tint-etched) ones.
    n_classes : number of output classes (logits per pixel).
    base : channels of the first level.
    depth : number of 2x down-sampling steps; input sides are padded to a multiple of 2**depth.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 2, base: int = 16, depth: int = 4):
        super().__init__()
        if depth < 1 or base < 1 or n_classes < 2 or in_channels < 1:
            raise ValueError("UNet needs depth >= 1, base >= 1, n_classes >= 2, in_channels >= 1")
        self.in_channels, self.n_classes, self.base, self.depth = (
            in_channels,
            n_classes,
            base,
            depth,
        )
        chans = [base * 2**i for i in range(depth + 1)]
        self.downs = nn.ModuleList([_DoubleConv(in_channels, chans[0])])
        for i in range(depth):
            self.downs.append(
                _DoubleConv(chans[i], chans[i + 1], dropout=0.1 if i == depth - 1 else 0)
            )
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        for i in reversed(range(depth)):
            self.ups.append(nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2))
            self.up_convs.append(_DoubleConv(chans[i] * 2, chans[i]))
        self.head = nn.Conv2d(chans[0], n_classes, 1)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (2**depth)."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.downs):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, conv in zip(self.ups, self.up_convs, strict=True):
            x = up(x)
            x = conv(torch.cat([skips.pop(), x], dim=1))
        return self.head(x)

    def hparams(self) -> dict[str, int]:
        """Constructor arguments, stored in model files to rebuild the network."""
        return {
            "in_channels": self.in_channels,
            "n_classes": self.n_classes,
            "base": self.base,
            "depth": self.depth,
        }

    def for_inference(self) -> UNet:
        """A copy for prediction: each batch normalisation folded into the convolution before it.

        In evaluation mode a batch normalisation is a per-channel affine map, so the copy gives
        the same outputs (to about 1e-5) with one pass over the data fewer per layer; on the CPU
        it also keeps its weights channels-last (:func:`prefer_channels_last`). Together they
        halve the time of the built-in boundary model's 4-flip map of a 2048 x 2048 image on
        two cores (``benchmarks/bench_unet_speed.py``: 9.7 s against 19.5 s).
        """
        net = copy.deepcopy(self).eval()
        for block in [*net.downs, *net.up_convs]:
            layers = list(block)
            for i, (conv, bn) in enumerate(zip(layers, layers[1:], strict=False)):
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    _fold(conv, bn)
                    block[i + 1] = nn.Identity()
        if prefer_channels_last(next(net.parameters()).device):
            net = net.to(memory_format=torch.channels_last)
        return net


def prefer_channels_last(device: torch.device) -> bool:
    """Whether convolutions run faster channels-last there: on the CPU (a training step 0.76x
    the time, ``benchmarks/bench_unet_speed.py``); GPUs keep the default layout."""
    return device.type == "cpu"


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold ``bn`` (evaluation mode) into ``conv``'s weight and bias, in place."""
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
