"""Comparing ghostdet modules with their reference implementations."""
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn as nn


def assert_close(outs: Sequence[torch.Tensor], refs: Sequence[torch.Tensor], rtol: float = 1e-5,
                 min_scale: float = 0.0) -> None:
    """Every output level has its reference's shape and differs from it by at most ``rtol`` times the reference's
    largest magnitude (at least ``min_scale``); compared in float32 on the CPU."""
    assert len(outs) == len(refs), (len(outs), len(refs))
    for level, (out, ref) in enumerate(zip(outs, refs)):
        assert out.shape == ref.shape, (level, out.shape, ref.shape)
        out, ref = out.float().cpu(), ref.float().cpu()
        error, scale = (out - ref).abs().max().item(), max(ref.abs().max().item(), min_scale)
        assert error <= rtol * scale, f'level {level}: max error {error:.3g} > {rtol} x {scale:.3g}'


def timm_block_outputs(model: nn.Module, x: torch.Tensor) -> List[torch.Tensor]:
    """The output of every block of a timm GhostNet (stem first), ghostdet's levels."""
    x = model.act1(model.bn1(model.conv_stem(x)))
    outs = []
    for block in model.blocks:
        x = block(x)
        outs.append(x)
    return outs


@torch.no_grad()
def conv_macs(model: nn.Module, x: torch.Tensor, forward: Optional[Callable] = None) -> int:
    """Multiply-adds of every Conv2d (how the GhostNet papers count FLOPs), counted with forward hooks."""
    total = []

    def hook(conv, _, out):
        total.append(out.numel() * conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        (forward or model)(x)
    finally:
        for handle in handles:
            handle.remove()
    return sum(total)
