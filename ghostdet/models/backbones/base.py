"""Behaviour shared by every ghostdet backbone (mmdet / mmpretrain conventions)."""
import copy
import numbers
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import CheckpointMismatchError, load_pretrained, preview_keys
from ..layers import fold_sequential_batch_norms


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def builds_lightweight_backbone(cfg) -> bool:
    """Whether a model config (``type``: a registered name or the class) builds a ghostdet backbone."""
    from mmdet.registry import MODELS
    backbone_type = cfg.get('type') if isinstance(cfg, dict) else None
    backbone_cls = backbone_type if isinstance(backbone_type, type) else MODELS.get(str(backbone_type))
    return isinstance(backbone_cls, type) and issubclass(backbone_cls, LightweightBackbone)


class LightweightBackbone(BaseModule):
    """Base class: ``out_indices`` validation, ``frozen_stages``, ``norm_eval``, strict ``Pretrained`` loading of
    foreign checkpoints, the inference form (``deploy``, ``switch_to_deploy()``) and the smallest input it takes.

    A subclass builds its layers, then calls :meth:`_set_levels` last, with the modules of its selectable output
    levels (in forward order) and their channel counts. ``frozen_stages=k`` freezes :meth:`stem_modules`
    (k >= 0) and the first ``k`` levels.

    ``init_cfg=dict(type='Pretrained', checkpoint=PATH[, prefix=..., use_ema=...])`` is handled here rather
    than by mmengine (which loads with ``strict=False`` and would silently leave unmatched weights random):
    the checkpoint's layout is unwrapped, mapped by :meth:`convert_state_dict` and must cover every weight.

    Args:
        out_indices (int | Sequence[int], optional): Levels to return: sorted, unique level indices, or one int for
            a single level (as mmpretrain's backbones accept). None: the subclass's ``default_out_indices``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k the stem and the first k levels.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (frozen statistics).
        deploy (bool): Build the inference form that :meth:`switch_to_deploy` produces (re-parameterised branches
            fused, BatchNorm folded), so a checkpoint converted by ``tools/model_converters/convert_to_deploy.py``
            loads strictly.
        init_cfg (dict | list[dict], optional): mmengine init config; see above for ``Pretrained``.
    """

    default_out_indices: Sequence[int] = ()

    def __init__(self, out_indices: Optional[Union[int, Sequence[int]]], frozen_stages: int, norm_eval: bool,
                 deploy: bool = False, init_cfg=None):
        name = type(self).__name__
        if not isinstance(deploy, bool):
            raise TypeError(f'{name}: deploy must be True or False, got {deploy!r}')
        pretrained = init_cfg if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' else None
        if init_cfg is None:  # training from scratch: He init for convs, unit BN scales
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        self._pretrained_cfg = copy.deepcopy(pretrained)
        if out_indices is None:
            out_indices = self.default_out_indices
        elif _is_int(out_indices):
            out_indices = (out_indices, )
        if isinstance(out_indices, (str, bytes)) or not isinstance(out_indices, Sequence) \
                or not all(_is_int(i) for i in out_indices):
            raise TypeError(f'{name}: out_indices must be an int or a sequence of ints (level indices, e.g. '
                            f'{tuple(self.default_out_indices)}), got {out_indices!r}')
        self.out_indices = tuple(int(i) for i in out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._build_deploy = deploy
        self.deploy = False  # True once in the inference form
        self._register_load_state_dict_pre_hook(self._refuse_other_form)

    # -- levels ------------------------------------------------------------------------------------------
    def _set_levels(self, levels: Sequence[nn.Module], channels: Sequence[int]) -> None:
        """Check ``out_indices`` and ``frozen_stages`` against the levels, apply freezing / ``norm_eval`` and build
        the inference form if ``deploy``: the last step of a subclass's constructor."""
        self._levels = list(levels)
        self.level_channels: List[int] = list(channels)
        num = len(self._levels)
        name = type(self).__name__
        if (not self.out_indices or list(self.out_indices) != sorted(set(self.out_indices))
                or self.out_indices[0] < 0 or self.out_indices[-1] >= num):
            raise ValueError(f'{name}: out_indices must be unique, sorted integers in [0, {num - 1}] '
                             f'(levels with channels {self.level_channels}), got {self.out_indices}')
        if not (_is_int(self.frozen_stages) and -1 <= self.frozen_stages <= num):
            raise ValueError(f'{name}: frozen_stages must be in [-1, {num}] (-1: nothing, 0: stem, '
                             f'k: stem + first k levels), got {self.frozen_stages!r}')
        self.min_input_size, self._min_input_reason = self._input_size_limit()
        self.train()
        if self._build_deploy:
            self.switch_to_deploy().train()

    def _input_size_limit(self) -> Tuple[int, str]:
        """The smallest input side (px) the levels up to ``out_indices[-1]`` take, and why (subclasses)."""
        return 1, ''

    @property
    def out_channels(self) -> List[int]:
        """Channels of the returned feature maps, in ``out_indices`` order (what a neck must take)."""
        return [self.level_channels[i] for i in self.out_indices]

    def stem_modules(self) -> List[nn.Module]:
        """Modules frozen by ``frozen_stages >= 0``."""
        return []

    def forward(self, x: torch.Tensor):
        """Run the stem and levels, keeping the outputs at ``out_indices``. Stops after the last one needed."""
        height, width = x.shape[-2:]
        if not torch.jit.is_tracing() and min(height, width) < self.min_input_size:  # (sizes are tensors there)
            raise ValueError(f'{type(self).__name__}: the input is {height}x{width} px, but with out_indices='
                             f'{self.out_indices} it must be at least {self.min_input_size} px per side: '
                             f'{self._min_input_reason}. Resize or pad the image.')
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

    def _refuse_other_form(self, state_dict, prefix, *args) -> None:
        """Refuse a checkpoint whose keys for this backbone do not fit it, even in non-strict loading.

        mmengine loads detector checkpoints with ``strict=False`` (``tools/test.py``, ``load_from``): a fused
        (deploy-form) checkpoint in a training-form config, or the reverse, would only warn and leave most weights
        random. A checkpoint with no key for this backbone at all (e.g. a head-only one) is left to the caller.
        """
        given = {k[len(prefix):] for k in state_dict if k.startswith(prefix)}
        if not given:
            return
        own = set(self.state_dict())
        missing = [k for k in own - given if not k.endswith('num_batches_tracked')]
        unexpected = given - own
        if not (missing or unexpected):
            return
        has_bn_statistics = any(k.endswith('running_var') for k in given)  # the inference form has none
        if not self.deploy and not has_bn_statistics:
            hint = ('It holds the inference (deploy) form: build the backbone with deploy=True (the config that '
                    'tools/model_converters/convert_to_deploy.py --out-config writes).')
        elif self.deploy and has_bn_statistics:
            hint = ('It holds the training form: build the backbone without deploy=True, or convert the checkpoint '
                    'with tools/model_converters/convert_to_deploy.py.')
        else:
            hint = self.checkpoint_hint()
        raise CheckpointMismatchError(
            f'{type(self).__name__} ({"inference" if self.deploy else "training"} form): the checkpoint\'s '
            f'{prefix.rstrip(".") or "backbone"} weights do not fit; nothing would load correctly.\n  '
            f'{len(missing)} missing keys: {preview_keys(missing)}\n  {len(unexpected)} unexpected keys: '
            f'{preview_keys(unexpected)}\n  {hint}')

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
        """Convert in place to the inference form: re-parameterised branches fused, BatchNorm folded into the
        preceding convs, weights and activations in ``channels_last`` layout (oneDNN's depthwise and 1x1 kernels
        are faster in NHWC). Outputs are unchanged in eval mode (returned in ``channels_last`` layout); BatchNorm
        statistics no longer adapt when trained on.
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
