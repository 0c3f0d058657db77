"""Behaviour shared by every ghostdet backbone (mmdet / mmpretrain conventions)."""
import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_pretrained
from ..layers import fold_sequential_batch_norms


class LightweightBackbone(BaseModule):
    """Base class: ``out_indices`` validation, ``frozen_stages``, ``norm_eval``, strict ``Pretrained``
    loading of foreign checkpoints, and ``switch_to_deploy()``.

    A subclass builds its layers, then calls :meth:`_set_levels` with the modules of its selectable output
    levels (in forward order) and their channel counts. ``frozen_stages=k`` freezes :meth:`stem_modules`
    (k >= 0) and the first ``k`` levels.

    ``init_cfg=dict(type='Pretrained', checkpoint=PATH[, prefix=..., use_ema=...])`` is handled here rather
    than by mmengine (which loads with ``strict=False`` and would silently leave unmatched weights random):
    the checkpoint's layout is unwrapped, mapped by :meth:`convert_state_dict` and must cover every weight.
    """

    default_out_indices: Sequence[int] = ()

    def __init__(self, out_indices: Optional[Sequence[int]], frozen_stages: int, norm_eval: bool,
                 init_cfg=None):
        pretrained = init_cfg if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' else None
        if init_cfg is None:  # training from scratch: He init for convs, unit BN scales
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        self._pretrained_cfg = copy.deepcopy(pretrained)
        self.out_indices = tuple(self.default_out_indices if out_indices is None else out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.deploy = False

    # -- levels ------------------------------------------------------------------------------------------
    def _set_levels(self, levels: Sequence[nn.Module], channels: Sequence[int]) -> None:
        self._levels = list(levels)
        self.level_channels: List[int] = list(channels)
        num = len(self._levels)
        name = type(self).__name__
        if (not self.out_indices or list(self.out_indices) != sorted(set(self.out_indices))
                or self.out_indices[0] < 0 or self.out_indices[-1] >= num):
            raise ValueError(f'{name}: out_indices must be unique, sorted integers in [0, {num - 1}] '
                             f'(levels with channels {self.level_channels}), got {self.out_indices}')
        if not -1 <= self.frozen_stages <= num:
            raise ValueError(f'{name}: frozen_stages must be in [-1, {num}] (-1: nothing, 0: stem, '
                             f'k: stem + first k levels), got {self.frozen_stages}')

    @property
    def out_channels(self) -> List[int]:
        """Channels of the returned feature maps, in ``out_indices`` order (what a neck must take)."""
        return [self.level_channels[i] for i in self.out_indices]

    def stem_modules(self) -> List[nn.Module]:
        """Modules frozen by ``frozen_stages >= 0``."""
        return []

    def forward_levels(self, x: torch.Tensor):
        """Run the stem and levels, keeping the outputs at ``out_indices``. Stops after the last one needed."""
        if self.deploy:
            x = x.contiguous(memory_format=torch.channels_last)
        for module in self.stem_modules():
            x = module(x)
        outs = []
        for idx, level in enumerate(self._levels[:self.out_indices[-1] + 1]):
            x = level(x)
            if idx in self.out_indices:
                outs.append(x)
        return tuple(outs)

    forward = forward_levels

    # -- training behaviour -----------------------------------------------------------------------------
    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        for module in self.stem_modules() + self._levels[:self.frozen_stages]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    # -- weights ----------------------------------------------------------------------------------------
    def convert_state_dict(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Map a foreign checkpoint's keys to this module's (drop classifier keys, rename layouts)."""
        return state_dict

    def checkpoint_hint(self) -> str:
        return 'Is the checkpoint for the same architecture and width as this backbone?'

    def init_weights(self):
        if self._pretrained_cfg is None:
            return super().init_weights()
        cfg = self._pretrained_cfg
        unknown = set(cfg) - {'type', 'checkpoint', 'prefix', 'map_location', 'use_ema'}
        if unknown or 'checkpoint' not in cfg:
            raise ValueError(f'{type(self).__name__}: Pretrained init_cfg takes checkpoint (required), prefix, '
                             f'map_location and use_ema; got {sorted(cfg)}')
        load_pretrained(self, cfg['checkpoint'], convert=self.convert_state_dict, use_ema=cfg.get('use_ema', False),
                        prefix=cfg.get('prefix'), map_location=cfg.get('map_location', 'cpu'),
                        hint=self.checkpoint_hint())
        self._is_init = True

    # -- inference form ---------------------------------------------------------------------------------
    @torch.no_grad()
    def switch_to_deploy(self):
        """Convert in place to the inference form: re-parameterised branches fused, BatchNorm folded into
        the preceding convs, weights and activations in ``channels_last`` layout (oneDNN's depthwise and 1x1
        kernels run markedly faster in NHWC; measured about 20 % on the GhostNets). Outputs are unchanged in
        eval mode (returned in ``channels_last`` layout); the module is no longer trainable as before.
        """
        if self.deploy:
            return self
        for module in list(self.modules())[::-1]:  # children before parents
            if module is not self and hasattr(module, 'switch_to_deploy'):
                module.switch_to_deploy()
        fold_sequential_batch_norms(self)
        self.to(memory_format=torch.channels_last)
        self.deploy = True
        return self.eval()
