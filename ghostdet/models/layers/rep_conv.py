"""Re-parameterisable convolutions (RepVGG / MobileOne style, as used by GhostNetV3).

At training time a conv is the sum of several parallel conv+BN branches, optionally a 1x1 "scale" conv+BN and
a BN-only identity branch; all are linear, so for inference they fuse into one conv with a bias.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from .conv import ConvBn
from .fusion import conv_from_kernel, fuse_bn_tensor


def rep_sum(x: torch.Tensor, branches: Sequence[ConvBn], scale: Optional[ConvBn] = None,
            identity: Optional[_BatchNorm] = None) -> torch.Tensor:
    """Training-form output: ``scale(x) + identity(x) + sum(branch(x))`` (timm's order of summation)."""
    out = scale(x) if scale is not None else None
    if identity is not None:
        out = identity(x) if out is None else out + identity(x)
    for branch in branches:
        out = branch(x) if out is None else out + branch(x)
    return out


def identity_kernel(channels: int, groups: int, kernel_size: int, like: torch.Tensor) -> torch.Tensor:
    """The kernel of a ``kernel_size`` conv with ``groups`` groups that returns its input unchanged."""
    kernel = torch.zeros(channels, channels // groups, kernel_size, kernel_size, dtype=like.dtype, device=like.device)
    index = torch.arange(channels)
    kernel[index, index % (channels // groups), kernel_size // 2, kernel_size // 2] = 1
    return kernel


@torch.no_grad()
def fuse_rep_branches(branches: Sequence[ConvBn], scale: Optional[ConvBn] = None,
                      identity: Optional[_BatchNorm] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``sum(branches) + scale + identity`` (all evaluated with BN in eval mode).

    The branches share one geometry (kernel ``k``, stride, groups); ``scale`` is a 1x1 conv with the same stride
    and groups, zero-padded to ``k x k``; ``identity`` is a BN applied to the input (stride 1, in == out).
    """
    template = branches[0].conv
    kernel = torch.zeros_like(template.weight)
    bias = torch.zeros(template.out_channels, dtype=kernel.dtype, device=kernel.device)
    for branch in branches:
        k, b = fuse_bn_tensor(branch.conv.weight, branch.bn1)
        kernel, bias = kernel + k, bias + b
    if scale is not None:
        k, b = fuse_bn_tensor(scale.conv.weight, scale.bn1)
        pad = template.kernel_size[0] // 2
        kernel, bias = kernel + F.pad(k, [pad, pad, pad, pad]), bias + b
    if identity is not None:
        k, b = fuse_bn_tensor(identity_kernel(template.out_channels, template.groups, template.kernel_size[0],
                                              kernel), identity)
        kernel, bias = kernel + k, bias + b
    return kernel, bias


def fused_conv(branches: Sequence[ConvBn], scale: Optional[ConvBn] = None,
               identity: Optional[_BatchNorm] = None) -> nn.Conv2d:
    """One conv (with bias) equal to the re-parameterisable branches; see :func:`fuse_rep_branches`."""
    return conv_from_kernel(branches[0].conv, *fuse_rep_branches(branches, scale, identity))
