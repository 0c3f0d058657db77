"""GhostNet (V1) backbone for MMDetection.

GhostNet: More Features from Cheap Operations (Han et al., CVPR 2020). Module names and channel rounding
follow the official ``ghostnet_pytorch`` code and timm's ``ghostnet``, so their ImageNet checkpoints load
without renaming. GhostNetV2 and GhostNetV3 share this skeleton (same table, same ``blocks`` indices).
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ..layers import (ConvBn, ConvBnAct, GhostModule, RepGhostModule, SqueezeExcite, conv_norm_layers,
                      fold_bn_into_conv, fused_conv, make_divisible, rep_sum)
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
DFC_FIRST_LAYER = 2  # GhostNetV2/V3: DFC attention in the first Ghost module of bottlenecks 2..15


def ghost_shortcut(in_channels: int, out_channels: int, kernel_size: int, stride: int, norm_cfg: dict) -> nn.Sequential:
    """Identity when the shape is kept, else depthwise k x k (stride) + BN + 1x1 conv + BN (no activation)."""
    if in_channels == out_channels and stride == 1:
        return nn.Sequential()
    return nn.Sequential(
        *conv_norm_layers(in_channels, in_channels, kernel_size, stride, groups=in_channels, norm_cfg=norm_cfg),
        *conv_norm_layers(in_channels, out_channels, 1, norm_cfg=norm_cfg))


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
        self.ghost1 = self._ghost_module(in_channels, mid_channels, True, dfc_attention, norm_cfg, act_cfg)
        self.conv_dw = self.bn_dw = None
        if stride > 1:
            self._build_depthwise(mid_channels, dw_kernel_size, stride, norm_cfg)
        self.se = SqueezeExcite(mid_channels, se_ratio, divisor=CHANNEL_DIVISOR) if se_ratio > 0 else None
        self.ghost2 = self._ghost_module(mid_channels, out_channels, False, False, norm_cfg, act_cfg)
        self.shortcut = ghost_shortcut(in_channels, out_channels, dw_kernel_size, stride, norm_cfg)

    def _ghost_module(self, in_channels, out_channels, use_act, dfc_attention, norm_cfg, act_cfg) -> nn.Module:
        return GhostModule(in_channels, out_channels, use_act=use_act, dfc_attention=dfc_attention,
                           norm_cfg=norm_cfg, act_cfg=act_cfg)

    def _build_depthwise(self, channels: int, kernel_size: int, stride: int, norm_cfg: dict) -> None:
        self.conv_dw, self.bn_dw = conv_norm_layers(channels, channels, kernel_size, stride, groups=channels,
                                                    norm_cfg=norm_cfg)

    def depthwise(self, x: torch.Tensor) -> torch.Tensor:
        """The stride-2 depthwise conv (+ BN) between the Ghost modules; identity at stride 1."""
        return x if self.conv_dw is None else self.bn_dw(self.conv_dw(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.depthwise(self.ghost1(x))
        if self.se is not None:
            out = self.se(out)
        return self.ghost2(out, residual=self.shortcut(x))

    def switch_to_deploy(self):
        if self.conv_dw is not None:
            fold_bn_into_conv(self, 'conv_dw', 'bn_dw')


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
        out_indices (int | Sequence[int]): Levels to return, sorted, in [0, 9].
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and ``blocks.0`` .. ``blocks.k-1``.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (frozen statistics).
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN`` ...).
        act_cfg (dict): Activation of the stem, Ghost modules and ``blocks.9`` (ReLU in the paper).
        deploy (bool): Build the inference form (see :class:`LightweightBackbone`), to load a converted checkpoint.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an official
            or timm ImageNet checkpoint as it is (classifier / ``conv_head`` dropped, every backbone weight
            must be covered).
    """

    default_out_indices = (2, 4, 6, 9)
    dfc_attention = False  # GhostNetV2's DFC attention in bottlenecks DFC_FIRST_LAYER..15

    def __init__(self, widen_factor: float = 1.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True), deploy: bool = False, init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, deploy, init_cfg)
        if not (isinstance(widen_factor, (int, float)) and math.isfinite(widen_factor) and widen_factor > 0):
            raise ValueError(f'{type(self).__name__}: widen_factor must be a positive number, got {widen_factor!r}')
        self.widen_factor = widen_factor
        self.norm_cfg, self.act_cfg = norm_cfg, act_cfg

        def width(channels: int) -> int:
            return make_divisible(channels * widen_factor, CHANNEL_DIVISOR)

        in_channels = width(STEM_CHANNELS)
        self.conv_stem, self.bn1, self.act1 = conv_norm_layers(3, in_channels, 3, 2, norm_cfg=norm_cfg,
                                                               act_cfg=act_cfg)
        # per level: the largest stride at which a DFC attention up to it pools its input (0: none)
        blocks, channels, self._dfc_strides = [], [], []
        layer_id, stride, dfc_stride = 0, 2, 0
        for group in GHOSTNET_ARCH:
            layers = []
            for kernel, expansion, out, se_ratio, block_stride in group:
                dfc_attention = self.dfc_attention and layer_id >= DFC_FIRST_LAYER
                layers.append(self._make_bottleneck(in_channels, width(expansion), width(out), kernel,
                                                    block_stride, se_ratio, dfc_attention))
                dfc_stride = stride if dfc_attention else dfc_stride  # it pools the bottleneck's input
                in_channels, stride, layer_id = width(out), stride * block_stride, layer_id + 1
            blocks.append(nn.Sequential(*layers))
            channels.append(in_channels)
            self._dfc_strides.append(dfc_stride)
        blocks.append(nn.Sequential(ConvBnAct(in_channels, width(LAST_CHANNELS), norm_cfg=norm_cfg, act_cfg=act_cfg)))
        channels.append(width(LAST_CHANNELS))
        self._dfc_strides.append(dfc_stride)
        self.blocks = nn.Sequential(*blocks)
        self._set_levels(self.blocks, channels)

    def _make_bottleneck(self, in_channels: int, mid_channels: int, out_channels: int, kernel: int, stride: int,
                         se_ratio: float, dfc_attention: bool) -> nn.Module:
        """One bottleneck of the table (GhostNetV3 overrides this)."""
        return GhostBottleneck(in_channels, mid_channels, out_channels, kernel, stride, se_ratio, dfc_attention,
                               norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _input_size_limit(self):
        stride = self._dfc_strides[self.out_indices[-1]]
        if not stride:
            return 1, ''
        # the map at stride s of an n-px input has ceil(n / s) px (every stride-2 conv pads), the pooling needs 2
        return stride + 1, (f'the DFC attention average-pools 2x the map at stride {stride}, which needs at least '
                            f'2 px per side')

    def stem_modules(self):
        return [self.conv_stem, self.bn1, self.act1]

    def convert_state_dict(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Official / timm classification checkpoints: drop the head (``conv_head``, ``classifier``)."""
        return {k: v for k, v in state_dict.items() if not k.startswith(('conv_head.', 'classifier.'))}

    def checkpoint_hint(self) -> str:
        return (f'Expected an official or timm {type(self).__name__} checkpoint of widen_factor='
                f'{self.widen_factor} (block channels {self.level_channels}).')

    def switch_to_deploy(self):
        fold_bn_into_conv(self, 'conv_stem', 'bn1')
        return super().switch_to_deploy()


@MODELS.register_module()
class GhostNetV2(GhostNet):
    """GhostNetV2 backbone (Tang et al., NeurIPS 2022): GhostNet with DFC attention.

    The first Ghost module of every bottleneck after the first two (14 of 16) multiplies its output by a
    decoupled fully-connected attention gate computed on a 2x down-sampled map (``short_conv``), so an input
    must be larger than the deepest stride computed (33 px per side with ``blocks.8`` or ``blocks.9``).
    Same arguments, levels and ``out_indices`` as :class:`GhostNet`; official ``ck_ghostnetv2_*.pth.tar`` files
    and timm ``ghostnetv2_*`` state dicts load as they are.
    """

    dfc_attention = True


class GhostBottleneckV3(GhostBottleneck):
    """GhostNetV3 bottleneck: :class:`GhostBottleneck` whose Ghost modules and stride-2 depthwise conv are
    re-parameterisable. The stride-2 depthwise conv is ``num_branches`` parallel k x k conv+BN (``dw_rpr_conv``)
    plus a 1x1 stride-2 conv+BN (``dw_rpr_scale``), fused into ``conv_dw`` (no BN) by :meth:`switch_to_deploy`.
    Arguments as :class:`GhostBottleneck`, plus ``num_branches``.
    """

    def __init__(self, *args, num_branches: int = 3, **kwargs):
        self.num_branches = num_branches  # read by the builders below, during GhostBottleneck.__init__
        super().__init__(*args, **kwargs)

    def _ghost_module(self, in_channels, out_channels, use_act, dfc_attention, norm_cfg, act_cfg):
        return RepGhostModule(in_channels, out_channels, use_act=use_act, dfc_attention=dfc_attention,
                              num_branches=self.num_branches, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def _build_depthwise(self, channels, kernel_size, stride, norm_cfg):
        self.dw_rpr_conv = nn.ModuleList(
            ConvBn(channels, channels, kernel_size, stride, groups=channels, norm_cfg=norm_cfg)
            for _ in range(self.num_branches))
        self.dw_rpr_scale = ConvBn(channels, channels, 1, stride, groups=channels, norm_cfg=norm_cfg)

    def depthwise(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_dw is not None:
            return self.conv_dw(x)
        return rep_sum(x, self.dw_rpr_conv, self.dw_rpr_scale) if self.stride > 1 else x

    def switch_to_deploy(self):
        if self.stride > 1 and self.conv_dw is None:
            self.conv_dw = fused_conv(self.dw_rpr_conv, self.dw_rpr_scale)
            del self.dw_rpr_conv, self.dw_rpr_scale


@MODELS.register_module()
class GhostNetV3(GhostNet):
    """GhostNetV3 backbone (Liu et al., 2024): the GhostNetV2 macro-architecture trained with re-parameterised
    branches (see :class:`GhostBottleneckV3`), fused away for inference (``deploy=True`` builds the fused form).

    Same levels and arguments as :class:`GhostNetV2`, plus:

    Args:
        num_branches (int): Parallel conv+BN branches per re-parameterisable conv (3 in the paper).

    Training-form checkpoints load as they are: official ``ghostnetv3-1.0.pth.tar`` (``state_dict``, or its EMA
    weights with ``init_cfg=dict(type='Pretrained', checkpoint=..., use_ema=True)``) and timm ``ghostnetv3_*``.
    """

    dfc_attention = True

    def __init__(self, *args, num_branches: int = 3, **kwargs):
        self.num_branches = num_branches
        super().__init__(*args, **kwargs)

    def _make_bottleneck(self, in_channels, mid_channels, out_channels, kernel, stride, se_ratio, dfc_attention):
        return GhostBottleneckV3(in_channels, mid_channels, out_channels, kernel, stride, se_ratio, dfc_attention,
                                 num_branches=self.num_branches, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def convert_state_dict(self, state_dict):
        """Also accept the official file's ``...rpr_*.bn.`` naming (timm renamed it ``bn1``)."""
        state_dict = super().convert_state_dict(state_dict)
        return {k.replace('.bn.', '.bn1.') if '_rpr_' in k else k: v for k, v in state_dict.items()}
