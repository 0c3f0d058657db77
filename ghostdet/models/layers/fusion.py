"""Folding BatchNorm into the preceding convolution for inference ("deploy") form."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def fuse_bn_tensor(weight: torch.Tensor, bn: _BatchNorm,
                   bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``bn(conv(x))`` for a conv with kernel ``weight`` and optional ``bias``."""
    std = (bn.running_var + bn.eps).sqrt()
    gamma = bn.weight if bn.affine else torch.ones_like(std)
    beta = bn.bias if bn.affine else torch.zeros_like(std)
    scale = gamma / std
    shift = bn.running_mean if bias is None else bn.running_mean - bias
    return weight * scale.reshape(-1, 1, 1, 1), beta - shift * scale


@torch.no_grad()
def conv_from_kernel(template: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    """A conv with ``template``'s geometry, the given kernel and a bias."""
    conv = nn.Conv2d(template.in_channels, template.out_channels, template.kernel_size, template.stride,
                     template.padding, template.dilation, template.groups, bias=True,
                     padding_mode=template.padding_mode, device=weight.device, dtype=weight.dtype)
    conv.weight.copy_(weight)
    conv.bias.copy_(bias)
    return conv


@torch.no_grad()
def fuse_conv_bn(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """A new conv (with bias) that computes ``bn(conv(x))`` with ``bn`` in eval mode."""
    return conv_from_kernel(conv, *fuse_bn_tensor(conv.weight, bn, conv.bias))


@torch.no_grad()
def fold_bn_into_conv(module: nn.Module, conv_name: str, bn_name: str) -> None:
    """Replace ``module.<conv_name>`` by a conv computing ``bn(conv(x))`` and ``module.<bn_name>`` by ``Identity``.

    The names stay, so state-dict keys of the fused form are the training form's minus the norm's (plus a conv
    bias). Does nothing if the norm is already folded (an ``Identity``).
    """
    bn = getattr(module, bn_name)
    if isinstance(bn, nn.Identity):
        return
    setattr(module, conv_name, fuse_conv_bn(getattr(module, conv_name), bn))
    setattr(module, bn_name, nn.Identity())


def fold_sequential_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every ``Conv2d`` directly followed by a BatchNorm inside any ``nn.Sequential`` of ``module``.

    The BN is replaced by ``nn.Identity`` so the indices of the remaining layers (and hence state-dict keys
    such as ``primary_conv.0.weight``) stay stable.
    """
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for idx in range(len(seq) - 1):
            if type(seq[idx]) is nn.Conv2d and isinstance(seq[idx + 1], _BatchNorm):
                fold_bn_into_conv(seq, str(idx), str(idx + 1))
    return module
