"""Segmentation core: the U-Net itself and its fast copy for prediction."""

from __future__ import annotations

import pytest
import torch

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import TrainConfig, UNet, synthetic_pairs, train_model


def test_unet_shapes_and_bad_arguments():
    net = UNet(in_channels=3, n_classes=4, base=4, depth=2).eval()
    assert net(torch.zeros(1, 3, 32, 48)).shape == (1, 4, 32, 48)
    with pytest.raises(ValueError):
        UNet(n_classes=1)


def test_the_inference_copy_folds_batch_norm_and_predicts_the_same():
    net = UNet(in_channels=3, n_classes=3, base=8, depth=3)
    net.train()
    with torch.no_grad():  # running statistics away from 0 and 1, as after training
        for _ in range(3):
            net(torch.rand(2, 3, 32, 32) * 4 + 1)
    net.eval()
    fast = net.for_inference()
    kinds = {type(m) for m in fast.modules()}
    assert torch.nn.BatchNorm2d not in kinds and torch.nn.BatchNorm2d in map(type, net.modules())
    x = torch.rand(2, 3, 48, 64) * 4 + 1
    with torch.no_grad():
        want = net(x)
        assert float((want - fast(x)).abs().max()) < 1e-4 * float(want.abs().max())
        assert torch.equal(want, net(x))  # the network itself is left as it was
    assert fast.downs[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    pairs = synthetic_pairs("phases", n=2, shape=(64, 64), kinds=("ferrite_pearlite",), seed=3)
    cfg = TrainConfig(task="phases", epochs=1, steps_per_epoch=2, base=8, depth=2, crop=32)
    trained = run_to_end(train_model(pairs, cfg))  # trained channels-last on the CPU,
    assert trained.net.downs[1][0].weight.is_contiguous()  # returned in the plain layout
