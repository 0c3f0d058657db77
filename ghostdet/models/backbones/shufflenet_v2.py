"""ShuffleNetV2 backbone for MMDetection.

ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design (Ma et al., ECCV 2018), as torchvision
implements it. Module names are torchvision's (``conv1``, ``stage2`` .. ``stage4``, ``conv5``, ``branch1`` /
``branch2`` with the same Sequential indices), so ``shufflenet_v2_x*`` state dicts load as they are; mmpretrain
checkpoints are renamed on load.
"""
import re
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS

from ...checkpoint import CheckpointMismatchError
from ..layers import concat_shuffle, conv_norm_act, conv_norm_layers
from .base import LightweightBackbone

# widen_factor -> output channels of conv1, stage2, stage3, stage4, conv5 (paper Table 5, torchvision)
CHANNELS_BY_WIDTH = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
STAGE_REPEATS = (4, 8, 4)  # units in stage2, stage3, stage4; the first of each has stride 2 (both ShuffleNets)

# mmpretrain -> torchvision indices inside a unit: (branch, ConvModule index, conv|bn) -> Sequential index
_MMPRETRAIN_BRANCH_INDEX = {('branch1', '0', 'conv'): 0, ('branch1', '0', 'bn'): 1,
                            ('branch1', '1', 'conv'): 2, ('branch1', '1', 'bn'): 3,
                            ('branch2', '0', 'conv'): 0, ('branch2', '0', 'bn'): 1,
                            ('branch2', '1', 'conv'): 3, ('branch2', '1', 'bn'): 4,
                            ('branch2', '2', 'conv'): 5, ('branch2', '2', 'bn'): 6}


def add_stem_and_stages(backbone: nn.Module, stem_channels: int, stage_channels: Sequence[int], norm_cfg: dict,
                        act_cfg: dict, make_unit: Callable[[int, int, int, bool], nn.Module]) -> None:
    """torchvision's ShuffleNetV2 layout, which both ShuffleNets use: ``conv1`` (3x3/2 conv-BN-act), ``maxpool``
    (3x3/2) and ``stage2`` .. ``stage4`` of ``STAGE_REPEATS`` units ``make_unit(in_channels, out_channels, stride,
    after_stem)``; the first unit of a stage has stride 2, ``after_stem`` is True for the very first unit only."""
    backbone.conv1 = conv_norm_act(3, stem_channels, 3, stride=2, norm_cfg=norm_cfg, act_cfg=act_cfg)
    backbone.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    in_channels = stem_channels
    for stage, (repeats, out_channels) in enumerate(zip(STAGE_REPEATS, stage_channels)):
        units = [make_unit(in_channels, out_channels, 2, stage == 0)]
        units += [make_unit(out_channels, out_channels, 1, False) for _ in range(repeats - 1)]
        backbone.add_module(f'stage{stage + 2}', nn.Sequential(*units))
        in_channels = out_channels


class InvertedResidual(nn.Module):
    """ShuffleNetV2 unit (torchvision's name and layout).

    Stride 1: the input is split into halves; the first passes through, the second goes through ``branch2``
    (1x1 conv-BN-ReLU, 3x3 depthwise conv-BN, 1x1 conv-BN-ReLU). Stride 2: no split; ``branch1`` (3x3/2 depthwise
    conv-BN, 1x1 conv-BN-ReLU) and ``branch2`` (its depthwise conv at stride 2) both read the whole input.
    The two halves are concatenated and shuffled with 2 groups, in one copy (:func:`concat_shuffle`).

    Args:
        in_channels (int): Input channels (equal to ``out_channels`` at stride 1).
        out_channels (int): Output channels (even).
        stride (int): 1 or 2.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True)):
        super().__init__()
        if stride not in (1, 2) or out_channels % 2 or (stride == 1 and in_channels != out_channels):
            raise ValueError(f'InvertedResidual: needs stride 1 or 2, even out_channels and in == out at stride 1; '
                             f'got {in_channels} -> {out_channels}, stride {stride}')
        self.stride = stride
        branch_channels = out_channels // 2
        branch2_in = in_channels if stride == 2 else branch_channels
        self.branch1 = nn.Sequential(
            *conv_norm_layers(in_channels, in_channels, 3, stride, groups=in_channels, norm_cfg=norm_cfg),
            *conv_norm_layers(in_channels, branch_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        ) if stride == 2 else None
        self.branch2 = nn.Sequential(
            *conv_norm_layers(branch2_in, branch_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            *conv_norm_layers(branch_channels, branch_channels, 3, stride, groups=branch_channels, norm_cfg=norm_cfg),
            *conv_norm_layers(branch_channels, branch_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            passthrough, x = x.chunk(2, dim=1)  # views (copied by the conv only if channels-last)
        else:
            passthrough = self.branch1(x)
        return concat_shuffle((passthrough, self.branch2(x)))


@MODELS.register_module()
class ShuffleNetV2(LightweightBackbone):
    """ShuffleNetV2 backbone (torchvision architecture and key names).

    Output levels (``out_indices`` and ``frozen_stages`` count them alike):

    ===== ============================== ====== ===================================
    level module                         stride channels (0.5x / 1.0x / 1.5x / 2.0x)
    ===== ============================== ====== ===================================
    0     ``maxpool`` (after ``conv1``)  4      24
    1     ``stage2``                     8      48 / 116 / 176 / 244
    2     ``stage3``                     16     96 / 232 / 352 / 488
    3     ``stage4``                     32     192 / 464 / 704 / 976
    4     ``conv5``                      32     1024 / 1024 / 1024 / 2048
    ===== ============================== ====== ===================================

    mmpretrain's ``out_indices`` 0..3 are levels 1..4 here, and its ``frozen_stages=k`` is ``k + 1`` here.

    ``switch_to_deploy()`` (or ``deploy=True``) folds BN and turns to channels-last (see
    :class:`LightweightBackbone`): beside the convs, the reference spends its time in BN, ATen's NCHW max-pool and
    the cat + shuffle copies; the inference form drops the first, pools in NHWC and writes cat + shuffle in one
    copy (README: *Speed of the inference form*).

    Args:
        widen_factor (float): 0.5, 1.0, 1.5 or 2.0 (the widths torchvision and mmpretrain publish).
        out_indices (int | Sequence[int]): Levels to return, sorted, in [0, 4]. Default (1, 2, 3): strides 8/16/32.
        frozen_stages (int): -1 freezes nothing, 0 ``conv1``, k ``conv1`` and levels 0 .. k-1.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (frozen statistics).
        norm_cfg (dict): Norm layer config (``BN``, ``SyncBN`` ...).
        act_cfg (dict): Activation config (ReLU in the paper).
        deploy (bool): Build the inference form (see :class:`LightweightBackbone`), to load a converted checkpoint.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads a torchvision
            ``shufflenet_v2_x*`` state dict or an mmpretrain ShuffleNetV2 checkpoint as it is (classifier ``fc`` /
            ``head`` dropped; every backbone weight must be covered).
    """

    default_out_indices = (1, 2, 3)

    def __init__(self, widen_factor: float = 1.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True), deploy: bool = False, init_cfg=None):
        super().__init__(out_indices, frozen_stages, norm_eval, deploy, init_cfg)
        if not isinstance(widen_factor, (int, float)) or widen_factor not in CHANNELS_BY_WIDTH:
            raise ValueError(f'ShuffleNetV2: widen_factor must be one of {sorted(CHANNELS_BY_WIDTH)} (the widths with '
                             f'published channel tables), got {widen_factor!r}')
        self.widen_factor = widen_factor
        channels = CHANNELS_BY_WIDTH[widen_factor]

        add_stem_and_stages(self, channels[0], channels[1:4], norm_cfg, act_cfg,
                            lambda cin, cout, stride, _: InvertedResidual(cin, cout, stride, norm_cfg, act_cfg))
        self.conv5 = conv_norm_act(channels[3], channels[4], 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self._set_levels([self.maxpool, self.stage2, self.stage3, self.stage4, self.conv5], channels)

    def stem_modules(self):
        return [self.conv1]

    def convert_state_dict(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """torchvision (our own layout, ``fc`` dropped) or mmpretrain (``conv1.conv``, ``layers.N``, renamed)."""
        if any(k.startswith(('first_conv.', 'conv_last.')) for k in state_dict):
            raise CheckpointMismatchError(
                'ShuffleNetV2: this is a megvii-model/ShuffleNet-Series checkpoint (first_conv / features / '
                'conv_last). Its units split even / odd channels at the input instead of shuffling at the output: '
                'the same function only after a channel permutation in every unit, which is not implemented; use a '
                'torchvision or mmpretrain checkpoint.')
        converted = {}
        for key, value in state_dict.items():
            if key.startswith(('fc.', 'head.')):
                continue
            converted[_torchvision_key(key)] = value
        return converted

    def checkpoint_hint(self) -> str:
        return (f'Expected a torchvision shufflenet_v2_x{self.widen_factor} state dict or an mmpretrain ShuffleNetV2 '
                f'checkpoint of widen_factor={self.widen_factor} (level channels {self.level_channels}).')


def _torchvision_key(key: str) -> str:
    """An mmpretrain ShuffleNetV2 key under torchvision's name; other keys unchanged."""
    if key.startswith('conv1.'):
        return key.replace('conv1.conv.', 'conv1.0.').replace('conv1.bn.', 'conv1.1.')
    if key.startswith('layers.3.'):  # conv5 as a ConvModule
        return key.replace('layers.3.conv.', 'conv5.0.').replace('layers.3.bn.', 'conv5.1.')
    match = re.fullmatch(r'layers\.(\d)\.(\d+)\.(branch[12])\.(\d)\.(conv|bn)\.(\w+)', key)
    if match is None:
        return key
    stage, unit, branch, module, kind, name = match.groups()
    index = _MMPRETRAIN_BRANCH_INDEX.get((branch, module, kind))
    if index is None:
        return key
    return f'stage{int(stage) + 2}.{unit}.{branch}.{index}.{name}'
