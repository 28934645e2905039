"""Click-to-mask with a SAM mask decoder, doing only the work a click needs.

Same mathematics as ``MaskDecoder.forward`` followed by ``Sam.postprocess_masks`` (up to
floating-point rounding), with these savings, measured in ``benchmarks/bench_refine.py``:

* the first two-way block's key, value and image-query projections depend only on the image,
  so they are computed once per embedding (:meth:`FastDecoder.prepare`), not per click;
* the other attentions between the few prompt tokens and the 4096 image tokens are evaluated
  with their projections folded into the token side (matrix associativity), so no 4096-row
  projection is computed per click;
* the stride-2 transposed convolutions of the mask upscaler are pixel-local, so they run (as
  BLAS products, channels last) only on the part of the 64x64 grid the masks cover (found from
  a 1-in-16 sample of the same layers);
* the masks are resampled to image pixels only inside their bounding boxes, at the image's
  resolution, instead of being upsampled to 1024x1024 and again to the full image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Prepared:
    """Prompt-independent tensors of one image embedding (tokens last: (1, HW, C))."""

    keys: torch.Tensor
    key_pe: torch.Tensor
    k1: torch.Tensor  # first block, token->image: k_proj(keys + pe), heads split
    v1: torch.Tensor  # first block, token->image: v_proj(keys), heads split
    q1: torch.Tensor  # first block, image->token: q_proj(keys + pe), heads split
    grid: tuple[int, int]


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    b, t, c = x.shape
    return x.reshape(b, t, n, c // n).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, n, t, c = x.shape
    return x.transpose(1, 2).reshape(b, t, n * c)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    attn = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]), dim=-1)
    return _merge_heads(attn @ v)


def _tokens_to_image(
    a: Any, q_in: torch.Tensor, k_in: torch.Tensor, v_in: torch.Tensor
) -> torch.Tensor:
    """``a(q=q_in, k=k_in, v=v_in)`` for few queries and many keys, with the key and value
    projections moved to the query side (associativity): no projection of the 4096 keys.

    The key bias adds one constant per query row, which softmax ignores; the value bias passes
    through because attention rows sum to one.
    """
    n, t, c = a.num_heads, q_in.shape[1], k_in.shape[-1]
    d = a.internal_dim // n
    q = a.q_proj(q_in).reshape(1, t, n, d).transpose(1, 2)  # (1, n, T, d)
    qk = (q @ a.k_proj.weight.reshape(n, d, c)).reshape(1, n * t, c)  # heads stacked
    attn = torch.softmax((qk @ k_in.transpose(1, 2)) / math.sqrt(d), dim=-1)  # (1, nT, HW)
    ctx = (attn @ v_in).reshape(1, n, t, c)
    vh = ctx @ a.v_proj.weight.reshape(n, d, c).transpose(-1, -2) + a.v_proj.bias.reshape(n, 1, d)
    return a.out_proj(_merge_heads(vh))


def _image_to_tokens(
    a: Any,
    q_in: torch.Tensor,
    k_in: torch.Tensor,
    v_in: torch.Tensor,
    q_heads: torch.Tensor | None = None,
) -> torch.Tensor:
    """``a(q=q_in, k=k_in, v=v_in)`` for many queries and few keys: the query and output
    projections are folded into the few keys and values (no 4096-row projection).

    ``q_heads`` is the precomputed ``q_proj(q_in)`` split into heads, when available.
    """
    n, t, c = a.num_heads, k_in.shape[1], q_in.shape[-1]
    d = a.internal_dim // n
    k = a.k_proj(k_in).reshape(1, t, n, d).transpose(1, 2)  # (1, n, T, d)
    v = a.v_proj(v_in).reshape(1, t, n, d).transpose(1, 2)
    if q_heads is not None:
        scores = q_heads @ k.transpose(-1, -2)  # (1, n, HW, T)
    else:
        wq = a.q_proj.weight.reshape(n, d, c)
        b = (wq.transpose(-1, -2) @ k.transpose(-1, -2))[0]  # (n, C, T)
        bias = (a.q_proj.bias.reshape(n, 1, d) @ k.transpose(-1, -2))[0]  # (n, 1, T)
        b = b.permute(1, 0, 2).reshape(c, n * t)  # one product for all heads
        scores = (q_in @ b + bias.reshape(1, 1, n * t)).reshape(1, -1, n, t).transpose(1, 2)
    attn = torch.softmax(scores / math.sqrt(d), dim=-1)  # (1, n, HW, T)
    vo = v @ a.out_proj.weight.reshape(c, n, d).permute(1, 2, 0)  # (1, n, T, C)
    hw = q_in.shape[1]
    out = attn.permute(0, 2, 1, 3).reshape(1, hw, n * t) @ vo.reshape(1, n * t, c)
    return out + a.out_proj.bias


def _deconv2x2(x: torch.Tensor, conv: torch.nn.ConvTranspose2d) -> torch.Tensor:
    """``conv(x)`` for a ConvTranspose2d with kernel 2, stride 2, no padding."""
    b, c, h, w = x.shape
    cout = conv.weight.shape[1]
    wmat = conv.weight.reshape(c, cout * 4)  # (Cin, Cout * 2 * 2)
    y = x.permute(0, 2, 3, 1).reshape(b * h * w, c) @ wmat
    y = y.reshape(b, h, w, cout, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, cout, 2 * h, 2 * w)
    return y + conv.bias[None, :, None, None]


class FastDecoder:
    """Prompt encoder + mask decoder of one SAM model, split into per-image and per-click work."""

    def __init__(self, sam: Any) -> None:
        self.sam = sam
        self.pe = sam.prompt_encoder
        self.dec = sam.mask_decoder
        self.img_size = int(sam.image_encoder.img_size)
        with torch.inference_mode():
            self.dense_pe = self.pe.get_dense_pe()

    @torch.inference_mode()
    def prepare(self, embedding: torch.Tensor) -> Prepared:
        """Per-image work for an embedding ``(1, 256, h, w)``."""
        layer = self.dec.transformer.layers[0]
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        dense = self.pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        keys = (embedding + dense).flatten(2).permute(0, 2, 1).contiguous()
        key_pe = self.dense_pe.flatten(2).permute(0, 2, 1).contiguous()
        kp = keys + key_pe
        return Prepared(
            keys=keys,
            key_pe=key_pe,
            k1=_heads(t2i.k_proj(kp), t2i.num_heads),
            v1=_heads(t2i.v_proj(keys), t2i.num_heads),
            q1=_heads(i2t.q_proj(kp), i2t.num_heads),
            grid=(int(embedding.shape[-2]), int(embedding.shape[-1])),
        )

    def _transformer(
        self, prep: Prepared, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tr = self.dec.transformer
        queries, keys, qpe, kpe = tokens, prep.keys, tokens, prep.key_pe
        for i, layer in enumerate(tr.layers):
            if layer.skip_first_layer_pe:
                queries = layer.self_attn(q=queries, k=queries, v=queries)
            else:
                q = queries + qpe
                queries = queries + layer.self_attn(q=q, k=q, v=queries)
            queries = layer.norm1(queries)
            a = layer.cross_attn_token_to_image
            if i == 0:
                q = _heads(a.q_proj(queries + qpe), a.num_heads)
                attn_out = a.out_proj(_attend(q, prep.k1, prep.v1))
            else:
                attn_out = _tokens_to_image(a, queries + qpe, keys + kpe, keys)
            queries = layer.norm2(queries + attn_out)
            queries = layer.norm3(queries + layer.mlp(queries))
            a = layer.cross_attn_image_to_token
            qi = prep.q1 if i == 0 else None
            keys = layer.norm4(keys + _image_to_tokens(a, keys + kpe, queries + qpe, queries, qi))
        a = tr.final_attn_token_to_image
        attn_out = _tokens_to_image(a, queries + qpe, keys + kpe, keys)
        queries = tr.norm_final_attn(queries + attn_out)
        return queries, keys

    def _window_logits(self, keys_hwc: torch.Tensor, hyper: torch.Tensor) -> torch.Tensor:
        """``hyper @ output_upscaling(window)``: (h, w, C) -> mask logits (M, 4h, 4w).

        A kernel-2, stride-2 transposed convolution is one matrix product per input pixel
        followed by a pixel shuffle; computed channels-last with BLAS products and a fused layer
        norm instead of the CPU transposed-convolution kernel (same arithmetic).
        """
        up = self.dec.output_upscaling
        conv1, ln, act1, conv2, act2 = up[0], up[1], up[2], up[3], up[4]
        h, w, c = keys_hwc.shape
        c1, c2 = conv1.weight.shape[1], conv2.weight.shape[1]
        y = keys_hwc.reshape(h * w, c) @ conv1.weight.reshape(c, c1 * 4)
        y = y.reshape(h, w, c1, 2, 2).permute(0, 3, 1, 4, 2).reshape(2 * h, 2 * w, c1)
        y = act1(F.layer_norm(y + conv1.bias, (c1,), ln.weight, ln.bias, ln.eps))
        z = y.reshape(4 * h * w, c1) @ conv2.weight.reshape(c1, c2 * 4)
        z = act2(z.reshape(4 * h * w, c2, 4) + conv2.bias[None, :, None])
        m = torch.einsum("pck,mc->mpk", z, hyper[0])  # (M, 2h * 2w, 4)
        m = m.reshape(-1, 2 * h, 2 * w, 2, 2).permute(0, 1, 3, 2, 4)
        return m.reshape(-1, 4 * h, 4 * w)

    def _coarse(self, keys_hwc: torch.Tensor, hyper: torch.Tensor) -> torch.Tensor:
        """Mask logits (M, h, w) at grid resolution from one sub-pixel of each 4x4 output block."""
        up = self.dec.output_upscaling
        conv1, ln, act1, conv2, act2 = up[0], up[1], up[2], up[3], up[4]
        h, w, c = keys_hwc.shape
        x = keys_hwc.reshape(h * w, c) @ conv1.weight[:, :, 0, 0] + conv1.bias
        x = act1(F.layer_norm(x, (x.shape[-1],), ln.weight, ln.bias, ln.eps))
        x = act2(x @ conv2.weight[:, :, 0, 0] + conv2.bias)
        return (x @ hyper[0].T).T.reshape(-1, h, w)

    @torch.inference_mode()
    def decode(
        self,
        prep: Prepared,
        coords: np.ndarray | None,
        labels: np.ndarray | None,
        box: np.ndarray | None,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Low-resolution mask logits of the three multimask outputs, for model-input coordinates.

        Returns ``(logits (3, h, w), iou (3,), (row0, col0))`` where the logits cover a window of
        the 4x-upscaled grid starting at ``(row0, col0)`` in low-res pixels.
        """
        pts = None
        if coords is not None and len(coords):
            pts = (
                torch.as_tensor(coords, dtype=torch.float32)[None],
                torch.as_tensor(labels, dtype=torch.int64)[None],
            )
        bx = torch.as_tensor(box, dtype=torch.float32)[None] if box is not None else None
        sparse, _ = self.pe(points=pts, boxes=bx, masks=None)
        out_tok = torch.cat([self.dec.iou_token.weight, self.dec.mask_tokens.weight], dim=0)[None]
        tokens = torch.cat([out_tok, sparse], dim=1)
        hs, keys = self._transformer(prep, tokens)
        gh, gw = prep.grid
        n = self.dec.num_mask_tokens
        hyper = torch.stack(
            [self.dec.output_hypernetworks_mlps[i](hs[:, 1 + i, :]) for i in range(1, n)], dim=1
        )
        iou = self.dec.iou_prediction_head(hs[:, 0, :])[0, 1:]
        coarse = self._coarse(keys.reshape(gh, gw, -1), hyper) > -4.0  # generous margin
        if coarse.any():
            rr = torch.nonzero(coarse.any(0).any(1)).flatten()
            cc = torch.nonzero(coarse.any(0).any(0)).flatten()
            r0, r1 = max(int(rr[0]) - 1, 0), min(int(rr[-1]) + 2, gh)
            c0, c1 = max(int(cc[0]) - 1, 0), min(int(cc[-1]) + 2, gw)
        else:
            r0, r1, c0, c1 = 0, 1, 0, 1
        window = keys.reshape(gh, gw, -1)[r0:r1, c0:c1]
        logits = self._window_logits(window, hyper)
        return logits, iou, (4 * r0, 4 * c0)


def logits_to_masks(
    logits: torch.Tensor,
    origin: tuple[int, int],
    img_size: int,
    scale: float,
    out_shape: tuple[int, int],
    offset: tuple[int, int] = (0, 0),
    full_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Threshold low-res logits at image resolution, only inside each mask's box.

    ``scale`` is model-input px per image px; ``out_shape`` the size of the image (tile) the
    model saw; ``offset`` where that tile sits in a ``full_shape`` image (tiles).
    """
    k, h, w = logits.shape
    full = full_shape or out_shape
    masks = np.zeros((k, full[0], full[1]), dtype=bool)
    low = img_size / (4 * (img_size // 16))  # model-input px per low-res px (4 for SAM)
    factor = low / scale  # image px per low-res px
    if abs(factor - round(factor)) < 1e-9 and round(factor) >= 1:
        return _integer_upsample(logits, origin, int(round(factor)), out_shape, offset, masks)
    for i in range(k):
        pos = torch.nonzero(logits[i] > 0)
        if len(pos) == 0:
            continue
        lo = (pos.min(0).values - 1).tolist()
        hi = (pos.max(0).values + 2).tolist()
        # image pixels whose centre maps into the positive low-res window
        rows = _range(lo[0], hi[0], origin[0], low, scale, out_shape[0])
        cols = _range(lo[1], hi[1], origin[1], low, scale, out_shape[1])
        if rows is None or cols is None:
            continue
        gy = ((rows + 0.5) * scale / low - origin[0]) / h * 2 - 1
        gx = ((cols + 0.5) * scale / low - origin[1]) / w * 2 - 1
        grid = torch.stack(
            torch.meshgrid(
                torch.as_tensor(gx, dtype=torch.float32),
                torch.as_tensor(gy, dtype=torch.float32),
                indexing="xy",
            ),
            dim=-1,
        )[None]
        vals = F.grid_sample(
            logits[i][None, None],
            grid,
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )[0, 0]
        r0, c0 = offset[0] + int(rows[0]), offset[1] + int(cols[0])
        masks[i, r0 : r0 + len(rows), c0 : c0 + len(cols)] = (vals > 0).numpy()
    return masks


def _upsample_int(x: torch.Tensor, f: int, dim: int) -> torch.Tensor:
    """Bilinear upsampling (``align_corners=False``, edges clamped) by an integer factor along
    one axis; the same weights as ``F.interpolate`` without its slow CPU kernel."""
    n = x.shape[dim]
    xp = torch.cat([x.narrow(dim, 0, 1), x, x.narrow(dim, n - 1, 1)], dim)
    prev, cur, nxt = xp.narrow(dim, 0, n), xp.narrow(dim, 1, n), xp.narrow(dim, 2, n)
    back, fwd = cur - prev, nxt - cur
    phases = []
    for k in range(f):
        o = (k + 0.5) / f - 0.5  # where output phase k samples, in input pixels
        phases.append(cur + o * back if o < 0 else cur + o * fwd)
    y = torch.stack(phases, dim + 1)
    shape = list(x.shape)
    shape[dim] = n * f
    return y.reshape(shape)


def _integer_upsample(
    logits: torch.Tensor,
    origin: tuple[int, int],
    f: int,
    out_shape: tuple[int, int],
    offset: tuple[int, int],
    masks: np.ndarray,
) -> np.ndarray:
    """Bilinear upsampling by an integer factor, once for all masks, in the window where any
    mask is positive (a positive upsampled pixel is within one low-res pixel of a positive one).
    """
    pos = torch.nonzero((logits > 0).any(0))
    if len(pos) == 0:
        return masks
    r0, c0 = (pos.min(0).values - 1).clamp(min=0).tolist()
    r1, c1 = (pos.max(0).values + 2).tolist()
    r1, c1 = min(r1, logits.shape[1]), min(c1, logits.shape[2])
    # one more low-res pixel of context so the interpolation at the window edge is exact
    pr0, pc0 = max(r0 - 1, 0), max(c0 - 1, 0)
    pr1, pc1 = min(r1 + 1, logits.shape[1]), min(c1 + 1, logits.shape[2])
    up = _upsample_int(_upsample_int(logits[:, pr0:pr1, pc0:pc1], f, 1), f, 2)
    y0, x0 = (origin[0] + r0) * f, (origin[1] + c0) * f
    y1 = min((origin[0] + r1) * f, out_shape[0])
    x1 = min((origin[1] + c1) * f, out_shape[1])
    if y1 > y0 and x1 > x0:
        sub = up[:, (r0 - pr0) * f :, (c0 - pc0) * f :][:, : y1 - y0, : x1 - x0]
        masks[:, offset[0] + y0 : offset[0] + y1, offset[1] + x0 : offset[1] + x1] = (
            sub > 0
        ).numpy()
    return masks


def _range(lo: int, hi: int, origin: int, low: float, scale: float, n: int) -> np.ndarray | None:
    a = max(int(math.floor((lo + origin) * low / scale)) - 1, 0)
    b = min(int(math.ceil((hi + origin) * low / scale)) + 1, n)
    return np.arange(a, b, dtype=np.float64) if b > a else None
