"""ShuffleNetV1 backbone for MMDetection.

ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices (Zhang et al., CVPR 2018), as
mmpretrain implements it (channel rounding, stem width, standard shuffle order), so mmpretrain checkpoints load and
give the same features. Module names follow torchvision's ShuffleNetV2 (``conv1``, ``maxpool``, ``stage2`` ..
``stage4``) with mmpretrain's unit names; mmpretrain's ``layers.N`` / ``.conv`` / ``.bn`` keys are renamed on load.
"""
import math
import re
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmdet.registry import MODELS

from ...checkpoint import CheckpointMismatchError
from ..layers import channel_shuffle, conv_norm_act, make_divisible
from .base import LightweightBackbone
from .shufflenet_v2 import add_stem_and_stages

# groups -> output channels of stage2, stage3, stage4 at widen_factor 1.0 (paper Table 1); scaled widths are
# rounded to multiples of 8, the stem is int(24 * widen_factor) (mmpretrain)
STAGE_CHANNELS_BY_GROUPS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                            8: (384, 768, 1536)}
STEM_CHANNELS = 24


class ShuffleUnit(nn.Module):
    """ShuffleNet unit.

    1x1 group conv to ``out_channels // 4`` (BN, ReLU) -> 3x3 depthwise conv (BN, no ReLU) -> channel shuffle ->
    1x1 group conv (BN). Stride 1: ``ReLU(x + unit(x))``. Stride 2: ``cat(avgpool3x3/2(x), ReLU(unit(x)))``, the
    unit producing the ``out - in`` missing channels.

    The paper shuffles before the depthwise conv; a depthwise conv acts on each channel alone, so shuffling after it
    computes the same function with the depthwise channels relabelled. We shuffle after it, as mmpretrain does, so
    mmpretrain weights fit without permutation.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels of the unit (including the shortcut at stride 2).
        groups (int): Groups of the 1x1 convs and of the shuffle.
        stride (int): 1 (residual add) or 2 (concat with the average-pooled input).
        group_compress (bool): Group the first 1x1 conv; False for the very first unit, whose input (the stem)
            has too few channels to split.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, stride: int, group_compress: bool = True,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU', inplace=True)):
        super().__init__()
        self.groups = groups
        mid_channels = out_channels // 4
        branch_channels = out_channels - in_channels if stride == 2 else out_channels
        self.g_conv_1x1_compress = conv_norm_act(in_channels, mid_channels, 1, groups=groups if group_compress else 1,
                                                 norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise_conv3x3_bn = conv_norm_act(mid_channels, mid_channels, 3, stride, groups=mid_channels,
                                                  norm_cfg=norm_cfg, act_cfg=None)
        self.g_conv_1x1_expand = conv_norm_act(mid_channels, branch_channels, 1, groups=groups, norm_cfg=norm_cfg,
                                               act_cfg=None)
        self.act = build_activation_layer(act_cfg)
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
        if self.groups > 1:
            out = channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.avgpool is None:
            return self.act(x + out)
        return torch.cat((self.avgpool(x), self.act(out)), dim=1)


@MODELS.register_module()
class ShuffleNetV1(LightweightBackbone):
    """ShuffleNetV1 backbone (the paper's architecture as mmpretrain builds it; no conv5).

    Output levels (``out_indices`` and ``frozen_stages`` count them alike):

    ===== ============================== ====== ======================================
    level module                         stride channels (1.0x, g = 1 / 2 / 3 / 4 / 8)
    ===== ============================== ====== ======================================
    0     ``maxpool`` (after ``conv1``)  4      24
    1     ``stage2``                     8      144 / 200 / 240 / 272 / 384
    2     ``stage3``                     16     288 / 400 / 480 / 544 / 768
    3     ``stage4``                     32     576 / 800 / 960 / 1088 / 1536
    ===== ============================== ====== ======================================

    mmpretrain's ``out_indices`` 0..2 are levels 1..3 here, and its ``frozen_stages=k`` is ``k + 1`` here.

    Args:
        groups (int): Groups of the 1x1 convs: 1, 2, 3, 4 or 8.
        widen_factor (float): Width multiplier of the stage channels (the paper's 0.25x .. 2.0x); stage widths
            are rounded to multiples of 8, the stem is ``int(24 * widen_factor)``. Every unit's channels must split
            into ``groups`` (e.g. groups=4 needs 1.0x or 2.0x), else a ValueError says where they do not.
        out_indices (int | Sequence[int]): Levels to return, sorted, in [0, 3]. Default (1, 2, 3): strides 8/16/32.
        frozen_stages (int): -1 freezes nothing, 0 ``conv1``, k ``conv1`` and levels 0 .. k-1.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (frozen statistics).
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN`` ...).
        act_cfg (dict): Activation config (ReLU in the paper).
        deploy (bool): Build the inference form (see :class:`LightweightBackbone`), to load a converted checkpoint.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an mmpretrain
            ShuffleNetV1 checkpoint as it is (``head`` dropped; every backbone weight must be covered).
            megvii-model/ShuffleNet-Series V1 weights are refused: they use the inverse shuffle order.
    """

    default_out_indices = (1, 2, 3)

    def __init__(self, groups: int = 3, widen_factor: float = 1.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True), deploy: bool = False, init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, deploy, init_cfg)
        if groups not in STAGE_CHANNELS_BY_GROUPS:
            raise ValueError(f'ShuffleNetV1: groups must be one of {sorted(STAGE_CHANNELS_BY_GROUPS)}, got {groups!r}')
        if not (isinstance(widen_factor, (int, float)) and math.isfinite(widen_factor)
                and int(STEM_CHANNELS * widen_factor) > 0):
            raise ValueError(f'ShuffleNetV1: widen_factor must be a positive number (>= 1/24), got {widen_factor!r}')
        self.groups, self.widen_factor = groups, widen_factor
        stem_channels = int(STEM_CHANNELS * widen_factor)
        channels = [make_divisible(c * widen_factor, 8) for c in STAGE_CHANNELS_BY_GROUPS[groups]]
        self._check_group_divisibility(stem_channels, channels)

        add_stem_and_stages(self, stem_channels, channels, norm_cfg, act_cfg,
                            lambda cin, cout, stride, after_stem: ShuffleUnit(
                                cin, cout, groups, stride, group_compress=not after_stem, norm_cfg=norm_cfg,
                                act_cfg=act_cfg))
        self._set_levels([self.maxpool, self.stage2, self.stage3, self.stage4], [stem_channels, *channels])

    def _check_group_divisibility(self, stem_channels: int, channels: Sequence[int]) -> None:
        """Name the first group conv whose channels do not split into ``groups`` (instead of a conv error)."""
        in_channels = stem_channels
        for index, out_channels in enumerate(channels):
            for what, count in (('bottleneck', out_channels // 4), ('first unit branch', out_channels - in_channels),
                                ('output', out_channels)):
                if count % self.groups:
                    raise ValueError(
                        f'ShuffleNetV1: groups={self.groups} with widen_factor={self.widen_factor} gives {count} '
                        f'channels in the stage{index + 2} {what}, which do not split into {self.groups} groups; '
                        f'choose another widen_factor (1.0 and 2.0 work for every groups value) or groups')
            in_channels = out_channels

    def stem_modules(self):
        return [self.conv1]

    def convert_state_dict(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """mmpretrain keys (``conv1.conv``, ``layers.N.i.<unit>.conv|bn``) renamed; ``head`` dropped."""
        if any(k.startswith('first_conv.') or '.branch_main_1.' in k for k in state_dict):
            raise CheckpointMismatchError(
                'ShuffleNetV1: this is a megvii-model/ShuffleNet-Series checkpoint (first_conv / features.i.'
                'branch_main_1). It shuffles channels in the inverse order (view as (C / g, g); mmpretrain and '
                'ghostdet view as (g, C / g)): a different network, which no renaming maps onto this one and no '
                'channel permutation either in general (e.g. groups=8 at 1.0x). Use an mmpretrain ShuffleNetV1 '
                'checkpoint.')
        converted = {}
        for key, value in state_dict.items():
            if key.startswith(('head.', 'fc.')):
                continue
            key = re.sub(r'^layers\.(\d)\.', lambda m: f'stage{int(m.group(1)) + 2}.', key)
            converted[re.sub(r'\.conv\.', '.0.', re.sub(r'\.bn\.', '.1.', key))] = value
        return converted

    def checkpoint_hint(self) -> str:
        return (f'Expected an mmpretrain ShuffleNetV1 checkpoint of groups={self.groups}, widen_factor='
                f'{self.widen_factor} (level channels {self.level_channels}).')
