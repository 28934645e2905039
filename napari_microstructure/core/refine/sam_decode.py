"""Click-to-mask with a SAM mask decoder, doing only the work a click needs.

Same mathematics as ``MaskDecoder.forward`` followed by ``Sam.postprocess_masks`` (up to
floating-point rounding), with these savings, measured in ``benchmarks/bench_refine.py``:

* the first two-way block's key, value and image-query projections depend only on the image,
  so they are computed once per embedding (:meth:`FastDecoder.prepare`), not per click;
* the other attentions between the few prompt tokens and the 4096 image tokens are evaluated
  with their projections folded into the token side (matrix associativity), so no 4096-row
  projection is computed per click;
* the stride-2 transposed convolutions of the mask upscaler are pixel-local, so they run (as
  BLAS products with fused biases, sub-pixels kept in product order and shuffled once at the
  end on the few mask channels) only on the part of the 64x64 grid the masks cover (found from
  a 1-in-16 sample of the same layers);
* softmax over the few prompt tokens is written out (``torch.softmax`` is slow on short rows);
* the masks are resampled to image pixels by :mod:`.sam_masks`, only where they are, straight
  to the image's resolution.
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


def _softmax_short(x: torch.Tensor) -> torch.Tensor:
    """Softmax over a short last axis (a few prompt tokens), in place; ``torch.softmax`` is
    several times slower on rows this short."""
    x = x - x.amax(-1, keepdim=True)
    x = x.exp_()
    return x.div_(x.sum(-1, keepdim=True))


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
        scores = (q_heads @ k.transpose(-1, -2)).transpose(1, 2)  # (1, HW, n, T)
    else:
        wq = a.q_proj.weight.reshape(n, d, c)
        b = (wq.transpose(-1, -2) @ k.transpose(-1, -2))[0]  # (n, C, T)
        bias = (a.q_proj.bias.reshape(n, 1, d) @ k.transpose(-1, -2))[0]  # (n, 1, T)
        b = b.permute(1, 0, 2).reshape(c, n * t)  # one product for all heads
        scores = torch.addmm(bias.reshape(1, n * t), q_in[0], b).reshape(1, -1, n, t)
    hw = q_in.shape[1]
    # softmax over each head's few keys; rows stay in (HW, heads, T) order
    attn = _softmax_short(scores * (1.0 / math.sqrt(d))).reshape(1, hw, n * t)
    vo = v @ a.out_proj.weight.reshape(c, n, d).permute(1, 2, 0)  # (1, n, T, C)
    return torch.addmm(a.out_proj.bias, attn[0], vo.reshape(n * t, c))[None]


class FastDecoder:
    """Prompt encoder + mask decoder of one SAM model, split into per-image and per-click work."""

    def __init__(self, sam: Any) -> None:
        self.sam = sam
        self.pe = sam.prompt_encoder
        self.dec = sam.mask_decoder
        self.img_size = int(sam.image_encoder.img_size)
        with torch.inference_mode():
            self.dense_pe = self.pe.get_dense_pe()
            # the same for every tile: kept once, not per embedding
            self._key_pe = self.dense_pe.flatten(2).permute(0, 2, 1).contiguous()
            # upscaling weights in sub-pixel-major order: (Cin, 2, 2, Cout), biases tiled
            conv1, conv2 = self.dec.output_upscaling[0], self.dec.output_upscaling[3]
            self._w1 = conv1.weight.permute(0, 2, 3, 1).reshape(conv1.weight.shape[0], -1)
            self._b1 = conv1.bias.repeat(4)
            self._w2 = conv2.weight.permute(0, 2, 3, 1).reshape(conv2.weight.shape[0], -1)
            self._b2 = conv2.bias.repeat(4)

    @torch.inference_mode()
    def prepare(self, embedding: torch.Tensor) -> Prepared:
        """Per-image work for an embedding ``(1, 256, h, w)``."""
        layer = self.dec.transformer.layers[0]
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        dense = self.pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        keys = (embedding + dense).flatten(2).permute(0, 2, 1).contiguous()
        kp = keys + self._key_pe
        return Prepared(
            keys=keys,
            key_pe=self._key_pe,
            k1=_heads(t2i.k_proj(kp), t2i.num_heads),
            v1=_heads(t2i.v_proj(keys), t2i.num_heads),
            q1=_heads(i2t.q_proj(kp), i2t.num_heads),
            grid=(int(embedding.shape[-2]), int(embedding.shape[-1])),
        )

    def tile_bytes(self) -> int:
        """Peak memory of one embedded tile: the encoder's output, its copy in the stacked
        embeddings and its :class:`Prepared` tensors (the positional encoding is shared)."""
        layer = self.dec.transformer.layers[0]
        t2i, i2t = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        grid = int(self.dense_pe.shape[-2]) * int(self.dense_pe.shape[-1])
        channels = int(self.dense_pe.shape[1])
        per_token = 3 * channels + 2 * t2i.internal_dim + i2t.internal_dim
        return 4 * grid * per_token

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
                kp = keys  # the image queries' projection is precomputed (prep.q1)
            else:
                kp = keys + kpe
                attn_out = _tokens_to_image(a, queries + qpe, kp, keys)
            queries = layer.norm2(queries + attn_out)
            queries = layer.norm3(queries + layer.mlp(queries))
            a = layer.cross_attn_image_to_token
            qi = prep.q1 if i == 0 else None
            keys = layer.norm4(keys + _image_to_tokens(a, kp, queries + qpe, queries, qi))
        a = tr.final_attn_token_to_image
        attn_out = _tokens_to_image(a, queries + qpe, keys + kpe, keys)
        queries = tr.norm_final_attn(queries + attn_out)
        return queries, keys

    def _window_logits(self, keys_hwc: torch.Tensor, hyper: torch.Tensor) -> torch.Tensor:
        """``hyper @ output_upscaling(window)``: (h, w, C) -> mask logits (M, 4h, 4w).

        A kernel-2, stride-2 transposed convolution is one matrix product per input pixel; the
        layer norm and GELU act per pixel, so both upscaling steps run on the sub-pixels in
        product order (bias fused into the product) and the pixel shuffle happens once, on
        the few mask channels, at the end.
        """
        up = self.dec.output_upscaling
        ln, act1, act2 = up[1], up[2], up[4]
        h, w, c = keys_hwc.shape
        c1, m = self._w1.shape[1] // 4, hyper.shape[1]
        y = torch.addmm(self._b1, keys_hwc.reshape(h * w, c), self._w1).reshape(-1, c1)
        y = act1(F.layer_norm(y, (c1,), ln.weight, ln.bias, ln.eps))
        z = act2(torch.addmm(self._b2, y, self._w2).reshape(16 * h * w, -1))
        out = (z @ hyper[0].T).reshape(h, w, 2, 2, 2, 2, m)  # r, c, a1, b1, a2, b2
        return out.permute(6, 0, 2, 4, 1, 3, 5).reshape(m, 4 * h, 4 * w)

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
