"""Conv + norm (+ activation) blocks with the key names of the checkpoints the backbones load.

mmcv's ``ConvModule`` is not used: its keys (``conv``, ``bn``) differ from those of the official, timm and
torchvision weights (``conv_stem`` / ``bn1``, ``conv`` / ``bn1``, Sequential indices), which must load as they are.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from .fusion import fold_bn_into_conv

KernelSize = Union[int, Sequence[int]]


def conv_norm_layers(in_channels: int, out_channels: int, kernel_size: KernelSize, stride: int = 1, groups: int = 1,
                     norm_cfg: dict = dict(type='BN'), act_cfg: Optional[dict] = None) -> List[nn.Module]:
    """``[conv, norm]`` plus ``act`` if ``act_cfg``: a bias-free conv with "same" padding (``k // 2`` per side).

    A list, to be unpacked into a flat ``nn.Sequential`` whose indices are the reference's (torchvision's
    ShuffleNetV2 branches, GhostNet's shortcut and DFC attention).
    """
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, tuple(k // 2 for k in kernel_size),
                        groups=groups, bias=False),
              build_norm_layer(norm_cfg, out_channels)[1]]
    if act_cfg:
        layers.append(build_activation_layer(act_cfg))
    return layers


def conv_norm_act(in_channels: int, out_channels: int, kernel_size: KernelSize, stride: int = 1, groups: int = 1,
                  norm_cfg: dict = dict(type='BN'), act_cfg: Optional[dict] = dict(type='ReLU')) -> nn.Sequential:
    """``Sequential(conv, norm, act)`` with timm/torchvision-style indices (``.0`` conv, ``.1`` norm).

    ``act_cfg=None`` puts an ``Identity`` at ``.2`` so a module keeps the same structure either way.
    """
    layers = conv_norm_layers(in_channels, out_channels, kernel_size, stride, groups, norm_cfg, act_cfg)
    return nn.Sequential(*layers, *([] if act_cfg else [nn.Identity()]))


class ConvBn(nn.Module):
    """Bias-free conv followed by a norm layer, with timm's key names (``conv``, ``bn1``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.conv, self.bn1 = conv_norm_layers(in_channels, out_channels, kernel_size, stride, groups, norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn1(self.conv(x))


class ConvBnAct(ConvBn):
    """:class:`ConvBn` then an activation (``act1``), timm's names for GhostNet's ``blocks.9``. The inference form
    (:meth:`switch_to_deploy`) folds the norm into the conv."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU')):
        super().__init__(in_channels, out_channels, kernel_size, stride, groups, norm_cfg)
        self.act1 = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.bn1(self.conv(x)))

    def switch_to_deploy(self):
        fold_bn_into_conv(self, 'conv', 'bn1')
