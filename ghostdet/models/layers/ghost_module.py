import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer

from .rep_conv import ConvBn, fused_conv


def conv_norm_act(in_channels: int, out_channels: int, kernel_size, stride: int = 1, groups: int = 1,
                  norm_cfg: dict = dict(type='BN'), act_cfg: Optional[dict] = dict(type='ReLU')) -> nn.Sequential:
    """``Sequential(conv, norm, act)`` with timm/torchvision-style indices (``.0`` conv, ``.1`` norm).

    ``act_cfg=None`` puts an ``Identity`` at ``.2`` so checkpoints keep the same keys either way.
    """
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    padding = tuple(k // 2 for k in kernel_size)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
        build_activation_layer(act_cfg) if act_cfg else nn.Identity(),
    )


class DFCAttention(nn.Sequential):
    """GhostNetV2's decoupled fully-connected attention branch, computed on a 2x down-sampled map.

    1x1 conv -> BN -> depthwise (1, k) -> BN -> depthwise (k, 1) -> BN: long-range horizontal then vertical
    mixing at a quarter of the pixels. ``forward`` returns the sigmoid gate at the down-sampled resolution;
    the Ghost module up-samples it (nearest) to its own output size, so odd input sizes work.
    Children are indexed ``0..5`` like ``short_conv`` in the official code and timm.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 norm_cfg: dict = dict(type='BN')):
        pad = kernel_size // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (1, kernel_size), padding=(0, pad), groups=out_channels,
                      bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (kernel_size, 1), padding=(pad, 0), groups=out_channels,
                      bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(super().forward(F.avg_pool2d(x, kernel_size=2, stride=2)))


class GhostModule(nn.Module):
    """Ghost module (GhostNet, CVPR 2020): a few intrinsic maps from a 1x1 conv, the rest ("ghosts") from a
    cheap depthwise conv applied to them, concatenated.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        ratio (int): ``out / intrinsic`` channels; ``ceil(out / ratio)`` maps come from the 1x1 conv.
        dw_size (int): Kernel size of the cheap depthwise operation.
        use_act (bool): Apply ``act_cfg`` after both convs (the first module of a bottleneck does).
        dfc_attention (bool): Multiply the output by GhostNetV2's DFC attention gate (``short_conv``).
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, out_channels: int, ratio: int = 2, dw_size: int = 3,
                 use_act: bool = True, dfc_attention: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.out_channels = out_channels
        intrinsic = math.ceil(out_channels / ratio)
        act = act_cfg if use_act else None
        self.primary_conv = conv_norm_act(in_channels, intrinsic, 1, norm_cfg=norm_cfg, act_cfg=act)
        self.cheap_operation = conv_norm_act(intrinsic, intrinsic * (ratio - 1), dw_size, groups=intrinsic,
                                             norm_cfg=norm_cfg, act_cfg=act)
        self.short_conv = DFCAttention(in_channels, out_channels, norm_cfg=norm_cfg) if dfc_attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary_conv(x)
        out = torch.cat([intrinsic, self.cheap_operation(intrinsic)], dim=1)
        if out.shape[1] != self.out_channels:
            out = out[:, :self.out_channels]
        if self.short_conv is not None:
            out = out * F.interpolate(self.short_conv(x), size=out.shape[-2:], mode='nearest')
        return out


class RepGhostModule(nn.Module):
    """GhostNetV3's Ghost module: the primary 1x1 conv and the cheap depthwise conv are re-parameterisable.

    Training form (timm / official key names): ``primary_rpr_conv`` = ``num_branches`` parallel 1x1 conv+BN;
    ``cheap_rpr_conv`` = ``num_branches`` parallel depthwise conv+BN plus a 1x1 depthwise ``cheap_rpr_scale``
    and a BN identity ``cheap_rpr_skip``. :meth:`switch_to_deploy` fuses each into one conv with bias
    (``primary_conv.0`` / ``cheap_operation.0``, the official/timm deploy key names).

    Args:
        in_channels, out_channels (int): Channels in / out (ratio 2: half intrinsic, half ghost maps).
        dw_size (int): Kernel of the cheap depthwise conv.
        use_act (bool): Activation after each of the two convs.
        dfc_attention (bool): GhostNetV2's DFC attention gate (``short_conv``), kept as it is (not fused).
        num_branches (int): Parallel conv+BN branches per re-parameterisable conv.
    """

    def __init__(self, in_channels: int, out_channels: int, dw_size: int = 3, use_act: bool = True,
                 dfc_attention: bool = False, num_branches: int = 3, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.out_channels = out_channels
        self.deploy = False
        intrinsic = math.ceil(out_channels / 2)
        self.primary_rpr_conv = nn.ModuleList(
            ConvBn(in_channels, intrinsic, 1, norm_cfg=norm_cfg) for _ in range(num_branches))
        self.primary_activation = build_activation_layer(act_cfg) if use_act else nn.Identity()
        self.cheap_rpr_conv = nn.ModuleList(
            ConvBn(intrinsic, intrinsic, dw_size, groups=intrinsic, norm_cfg=norm_cfg) for _ in range(num_branches))
        self.cheap_rpr_scale = ConvBn(intrinsic, intrinsic, 1, groups=intrinsic, norm_cfg=norm_cfg)
        self.cheap_rpr_skip = build_norm_layer(norm_cfg, intrinsic)[1]
        self.cheap_activation = build_activation_layer(act_cfg) if use_act else nn.Identity()
        self.short_conv = DFCAttention(in_channels, out_channels, norm_cfg=norm_cfg) if dfc_attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            intrinsic = self.primary_conv(x)
            ghosts = self.cheap_operation(intrinsic)
        else:
            intrinsic = self.primary_activation(sum(branch(x) for branch in self.primary_rpr_conv))
            ghosts = self.cheap_rpr_scale(intrinsic) + self.cheap_rpr_skip(intrinsic)
            ghosts = self.cheap_activation(ghosts + sum(branch(intrinsic) for branch in self.cheap_rpr_conv))
        out = torch.cat([intrinsic, ghosts], dim=1)
        if out.shape[1] != self.out_channels:
            out = out[:, :self.out_channels]
        if self.short_conv is not None:
            out = out * F.interpolate(self.short_conv(x), size=out.shape[-2:], mode='nearest')
        return out

    def switch_to_deploy(self):
        if self.deploy:
            return
        self.primary_conv = nn.Sequential(fused_conv(self.primary_rpr_conv), self.primary_activation)
        self.cheap_operation = nn.Sequential(
            fused_conv(self.cheap_rpr_conv, self.cheap_rpr_scale, self.cheap_rpr_skip), self.cheap_activation)
        for name in ('primary_rpr_conv', 'primary_activation', 'cheap_rpr_conv', 'cheap_rpr_scale',
                     'cheap_rpr_skip', 'cheap_activation'):
            delattr(self, name)
        self.deploy = True
