"""GhostNet (V1) backbone for MMDetection.

GhostNet: More Features from Cheap Operations (Han et al., CVPR 2020). Module names and channel rounding
follow the official ``ghostnet_pytorch`` code and timm's ``ghostnet``, so their ImageNet checkpoints load
without renaming. GhostNetV2 and GhostNetV3 share this skeleton (same table, same ``blocks`` indices).
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.registry import MODELS

from ..layers import (ConvBn, GhostModule, RepGhostModule, SqueezeExcite, fuse_conv_bn, fused_conv, make_divisible,
                      rep_sum)
from .base import LightweightBackbone

# One row per Ghost bottleneck: kernel (of the stride-2 depthwise conv and the shortcut), expansion (mid)
# channels, output channels, SE ratio, stride. Rows are grouped as the official code groups them into
# ``blocks.0`` .. ``blocks.8``; ``blocks.9`` is a 1x1 conv to 960 * width channels.
GHOSTNET_ARCH = [
    [[3, 16, 16, 0, 1]],                    # blocks.0  /2
    [[3, 48, 24, 0, 2]],                    # blocks.1  /4
    [[3, 72, 24, 0, 1]],                    # blocks.2  /4
    [[5, 72, 40, 0.25, 2]],                 # blocks.3  /8
    [[5, 120, 40, 0.25, 1]],                # blocks.4  /8
    [[3, 240, 80, 0, 2]],                   # blocks.5  /16
    [[3, 200, 80, 0, 1],                    # blocks.6  /16
     [3, 184, 80, 0, 1],
     [3, 184, 80, 0, 1],
     [3, 480, 112, 0.25, 1],
     [3, 672, 112, 0.25, 1]],
    [[5, 672, 160, 0.25, 2]],               # blocks.7  /32
    [[5, 960, 160, 0, 1],                   # blocks.8  /32
     [5, 960, 160, 0.25, 1],
     [5, 960, 160, 0, 1],
     [5, 960, 160, 0.25, 1]],
]
STEM_CHANNELS = 16
LAST_CHANNELS = 960  # blocks.9
CHANNEL_DIVISOR = 4


def ghost_shortcut(in_channels: int, out_channels: int, kernel_size: int, stride: int, norm_cfg: dict) -> nn.Sequential:
    """Identity when the shape is kept, else depthwise k x k (stride) + BN + 1x1 conv + BN (no activation)."""
    if in_channels == out_channels and stride == 1:
        return nn.Sequential()
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=in_channels,
                  bias=False),
        build_norm_layer(norm_cfg, in_channels)[1],
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
    )


class GhostBottleneck(nn.Module):
    """Ghost bottleneck: Ghost module (expand, ReLU) -> [depthwise k x k / 2 + BN] -> [SE] -> Ghost module
    (project, linear) + shortcut (identity, or depthwise k x k + BN + 1x1 conv + BN when the shape changes).

    Args:
        in_channels, mid_channels, out_channels (int): Channels in / after expansion / out.
        dw_kernel_size (int): Kernel of the stride-2 depthwise conv and of the shortcut's depthwise conv.
        stride (int): 1 or 2.
        se_ratio (float): SE hidden ratio on the mid channels; 0 disables SE.
        dfc_attention (bool): GhostNetV2's DFC attention in the first Ghost module.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, dw_kernel_size: int = 3,
                 stride: int = 1, se_ratio: float = 0.0, dfc_attention: bool = False,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.stride = stride
        padding = (dw_kernel_size - 1) // 2
        self.ghost1 = GhostModule(in_channels, mid_channels, use_act=True, dfc_attention=dfc_attention,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg)
        if stride > 1:
            self.conv_dw = nn.Conv2d(mid_channels, mid_channels, dw_kernel_size, stride, padding,
                                     groups=mid_channels, bias=False)
            self.bn_dw = build_norm_layer(norm_cfg, mid_channels)[1]
        else:
            self.conv_dw = self.bn_dw = None
        self.se = SqueezeExcite(mid_channels, se_ratio, divisor=CHANNEL_DIVISOR) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_channels, out_channels, use_act=False, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.shortcut = ghost_shortcut(in_channels, out_channels, dw_kernel_size, stride, norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out, residual=self.shortcut(x))

    def switch_to_deploy(self):
        if self.conv_dw is not None and not isinstance(self.bn_dw, nn.Identity):
            self.conv_dw = fuse_conv_bn(self.conv_dw, self.bn_dw)
            self.bn_dw = nn.Identity()


class ConvBnAct(nn.Module):
    """1x1 conv -> BN -> activation with timm's key names (``conv``, ``bn1``): GhostNet's ``blocks.9``."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict, act_cfg: dict):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act1 = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.bn1(self.conv(x)))

    def switch_to_deploy(self):
        if not isinstance(self.bn1, nn.Identity):
            self.conv = fuse_conv_bn(self.conv, self.bn1)
            self.bn1 = nn.Identity()


@MODELS.register_module()
class GhostNet(LightweightBackbone):
    """GhostNet backbone (V1).

    Output levels are the 10 entries of ``blocks`` (strides 2, 4, 4, 8, 8, 16, 16, 32, 32, 32; at 1.0x
    16, 24, 24, 40, 40, 80, 112, 160, 160, 960 channels). The default ``(2, 4, 6, 9)`` takes the end of
    each resolution, strides 4/8/16/32. (timm's ``features_only`` taps the *first* block of each stride
    instead.) ``out_channels`` gives the channels of the selected levels.

    Args:
        widen_factor (float): Width multiplier (0.5, 1.0, 1.1, 1.3 ... any positive float); channels are
            rounded to multiples of 4 as in the official code.
        out_indices (Sequence[int]): Levels to return, sorted, in [0, 9].
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and ``blocks.0`` .. ``blocks.k-1``.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (frozen statistics).
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN`` ...).
        act_cfg (dict): Activation of the stem, Ghost modules and ``blocks.9`` (ReLU in the paper).
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an official
            or timm ImageNet checkpoint as it is (classifier / ``conv_head`` dropped, every backbone weight
            must be covered).
    """

    version = 'v1'
    default_out_indices = (2, 4, 6, 9)

    def __init__(self, widen_factor: float = 1.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True), init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, init_cfg)
        if not (isinstance(widen_factor, (int, float)) and math.isfinite(widen_factor) and widen_factor > 0):
            raise ValueError(f'{type(self).__name__}: widen_factor must be a positive number, got {widen_factor!r}')
        self.widen_factor = widen_factor
        self.norm_cfg, self.act_cfg = norm_cfg, act_cfg

        def width(channels: int) -> int:
            return make_divisible(channels * widen_factor, CHANNEL_DIVISOR)

        in_channels = width(STEM_CHANNELS)
        self.conv_stem = nn.Conv2d(3, in_channels, 3, 2, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.act1 = build_activation_layer(act_cfg)

        blocks, channels, layer_id = [], [], 0
        for group in GHOSTNET_ARCH:
            layers = []
            for kernel, expansion, out, se_ratio, stride in group:
                layers.append(self._make_bottleneck(layer_id, in_channels, width(expansion), width(out), kernel,
                                                    stride, se_ratio))
                in_channels = width(out)
                layer_id += 1
            blocks.append(nn.Sequential(*layers))
            channels.append(in_channels)
        blocks.append(nn.Sequential(ConvBnAct(in_channels, width(LAST_CHANNELS), norm_cfg, act_cfg)))
        channels.append(width(LAST_CHANNELS))
        self.blocks = nn.Sequential(*blocks)
        self._set_levels(self.blocks, channels)
        self.train()  # apply frozen_stages / norm_eval from the start

    def _make_bottleneck(self, layer_id: int, in_channels: int, mid_channels: int, out_channels: int,
                         kernel: int, stride: int, se_ratio: float) -> nn.Module:
        """One bottleneck of the table; GhostNetV2/V3 override this (``layer_id`` counts 0..15)."""
        return GhostBottleneck(in_channels, mid_channels, out_channels, kernel, stride, se_ratio,
                               norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def stem_modules(self):
        return [self.conv_stem, self.bn1, self.act1]

    def convert_state_dict(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Official / timm classification checkpoints: drop the head (``conv_head``, ``classifier``)."""
        return {k: v for k, v in state_dict.items() if not k.startswith(('conv_head.', 'classifier.'))}

    def checkpoint_hint(self) -> str:
        return (f'Expected an official or timm {type(self).__name__} checkpoint of widen_factor='
                f'{self.widen_factor} (block channels {self.level_channels}).')

    def switch_to_deploy(self):
        if not self.deploy:
            self.conv_stem = fuse_conv_bn(self.conv_stem, self.bn1)
            self.bn1 = nn.Identity()
        return super().switch_to_deploy()


@MODELS.register_module()
class GhostNetV2(GhostNet):
    """GhostNetV2 backbone (Tang et al., NeurIPS 2022): GhostNet with DFC attention.

    The first Ghost module of every bottleneck after the first two (``layer_id > 1``, 14 of 16) multiplies its
    output by a decoupled fully-connected attention gate computed on a 2x down-sampled map (``short_conv``).
    Same arguments, levels and ``out_indices`` as :class:`GhostNet`; official ``ck_ghostnetv2_*.pth.tar`` files
    and timm ``ghostnetv2_*`` state dicts load as they are.
    """

    version = 'v2'

    def _make_bottleneck(self, layer_id, in_channels, mid_channels, out_channels, kernel, stride, se_ratio):
        return GhostBottleneck(in_channels, mid_channels, out_channels, kernel, stride, se_ratio,
                               dfc_attention=layer_id > 1, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)


class GhostBottleneckV3(nn.Module):
    """GhostNetV3 bottleneck: :class:`GhostBottleneck` whose Ghost modules and stride-2 depthwise conv are
    re-parameterisable. The stride-2 depthwise conv is ``num_branches`` parallel k x k conv+BN (``dw_rpr_conv``)
    plus a 1x1 stride-2 conv+BN (``dw_rpr_scale``), fused into ``conv_dw`` by :meth:`switch_to_deploy`.
    Arguments as :class:`GhostBottleneck`.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, dw_kernel_size: int = 3,
                 stride: int = 1, se_ratio: float = 0.0, dfc_attention: bool = False, num_branches: int = 3,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        self.stride = stride
        self.ghost1 = RepGhostModule(in_channels, mid_channels, use_act=True, dfc_attention=dfc_attention,
                                     num_branches=num_branches, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_dw = None
        if stride > 1:
            self.dw_rpr_conv = nn.ModuleList(
                ConvBn(mid_channels, mid_channels, dw_kernel_size, stride, groups=mid_channels, norm_cfg=norm_cfg)
                for _ in range(num_branches))
            self.dw_rpr_scale = ConvBn(mid_channels, mid_channels, 1, stride, groups=mid_channels,
                                       norm_cfg=norm_cfg)
        self.se = SqueezeExcite(mid_channels, se_ratio, divisor=CHANNEL_DIVISOR) if se_ratio > 0 else None
        self.ghost2 = RepGhostModule(mid_channels, out_channels, use_act=False, num_branches=num_branches,
                                     norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.shortcut = ghost_shortcut(in_channels, out_channels, dw_kernel_size, stride, norm_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.conv_dw(out)
        elif self.stride > 1:
            out = rep_sum(out, self.dw_rpr_conv, self.dw_rpr_scale)
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out, residual=self.shortcut(x))

    def switch_to_deploy(self):
        if self.stride > 1 and self.conv_dw is None:
            self.conv_dw = fused_conv(self.dw_rpr_conv, self.dw_rpr_scale)
            del self.dw_rpr_conv, self.dw_rpr_scale


@MODELS.register_module()
class GhostNetV3(GhostNet):
    """GhostNetV3 backbone (Liu et al., 2024): the GhostNetV2 macro-architecture trained with re-parameterised
    branches (see :class:`GhostBottleneckV3`), fused away for inference.

    Same levels and arguments as :class:`GhostNet`, plus:

    Args:
        num_branches (int): Parallel conv+BN branches per re-parameterisable conv (3 in the paper).
        deploy (bool): Build the fused inference form (what :meth:`switch_to_deploy` or
            ``tools/model_converters/ghostnetv3_deploy.py`` produce), to load a fused checkpoint.

    Training-form checkpoints load as they are: official ``ghostnetv3-1.0.pth.tar`` (``state_dict``, or its EMA
    weights with ``init_cfg=dict(type='Pretrained', checkpoint=..., use_ema=True)``) and timm ``ghostnetv3_*``.
    """

    version = 'v3'

    def __init__(self, *args, num_branches: int = 3, deploy: bool = False, **kwargs):
        self.num_branches = num_branches
        super().__init__(*args, **kwargs)
        if deploy:
            self.switch_to_deploy()

    def _make_bottleneck(self, layer_id, in_channels, mid_channels, out_channels, kernel, stride, se_ratio):
        return GhostBottleneckV3(in_channels, mid_channels, out_channels, kernel, stride, se_ratio,
                                 dfc_attention=layer_id > 1, num_branches=self.num_branches,
                                 norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def convert_state_dict(self, state_dict):
        """Also accept the official file's ``...rpr_*.bn.`` naming (timm renamed it ``bn1``)."""
        state_dict = super().convert_state_dict(state_dict)
        return {k.replace('.bn.', '.bn1.') if '_rpr_' in k else k: v for k, v in state_dict.items()}
