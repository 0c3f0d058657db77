"""Build-time check that a detector's neck takes the channels its ghostdet backbone returns.

mmdet builds a detector whose ``neck.in_channels`` disagree with the backbone's outputs without a word (mmdet issue
6810: depending on the neck, training then stops at the first forward with a conv shape error or runs on and
reports mAP near 0). A ghostdet backbone knows its ``out_channels`` for the chosen ``out_indices``, so the mismatch
is caught when the model is built: :func:`install_neck_check` (a patch in :mod:`ghostdet.patches`) wraps the
build function of mmengine's and mmdet's ``MODELS`` registries (which ``MODELS.build``, ``Runner`` and
``init_detector`` use), and every model config with a ghostdet backbone and a neck is checked by
:func:`check_neck_in_channels`: after a successful build, and when the build fails (necks such as FPN and SSDNeck
often trip over wrong channels in their own constructors with a bare AssertionError), so that the error names the
cause.
"""
import functools
from typing import List, Optional, Union

import torch.nn as nn

from .backbones.base import LightweightBackbone, builds_lightweight_backbone

# Necks that take the backbone's levels deepest first.
REVERSED_INPUT_NECKS = ('YOLOV3Neck', )


def expected_neck_in_channels(neck_cfg: dict, out_channels: List[int]) -> Union[int, List[int]]:
    """The ``in_channels`` a neck config must have for a backbone returning ``out_channels``.

    Necks take the backbone's list in order (FPN, PAFPN, CSPNeXtPAFPN, ChannelMapper, SSDNeck ...), YOLOV3Neck
    deepest first, and necks with an integer ``in_channels`` (DilatedEncoder, CTResNetNeck) the last level only.
    """
    in_channels = neck_cfg['in_channels']
    if isinstance(in_channels, int):
        return out_channels[-1]
    if str(neck_cfg.get('type', '')).split('.')[-1] in REVERSED_INPUT_NECKS:
        return out_channels[::-1]
    return list(out_channels)


def check_neck_in_channels(backbone: nn.Module, neck_cfg: Optional[Union[dict, list]], model_name: str = 'model'):
    """Raise ValueError if ``neck_cfg['in_channels']`` does not fit a ghostdet ``backbone``.

    Args:
        backbone: The built backbone; other than ghostdet backbones are not checked.
        neck_cfg: The model config's ``neck`` (a dict, or a list of dicts whose first one takes the backbone's
            outputs); configs without ``in_channels`` are not checked.
        model_name: The detector's name for the message.
    """
    if isinstance(neck_cfg, (list, tuple)):
        neck_cfg = neck_cfg[0] if neck_cfg else None
    if not isinstance(backbone, LightweightBackbone) or not isinstance(neck_cfg, dict) \
            or 'in_channels' not in neck_cfg:
        return
    given = neck_cfg['in_channels']
    given = given if isinstance(given, int) else list(given)
    expected = expected_neck_in_channels(neck_cfg, backbone.out_channels)
    if given == expected:
        return
    order = ' (deepest level first)' if isinstance(expected, list) and expected != backbone.out_channels else ''
    raise ValueError(
        f'{model_name}: neck {neck_cfg.get("type", "")} has in_channels={given}, but the backbone '
        f'{type(backbone).__name__} returns out_channels={backbone.out_channels} for out_indices='
        f'{backbone.out_indices} (its levels have channels {backbone.level_channels}). Set '
        f'neck.in_channels={expected}{order}, or choose backbone.out_indices whose channels the neck takes.')


def _ghostdet_backbone_from_cfg(cfg: dict) -> Optional[LightweightBackbone]:
    """Build ``cfg['backbone']`` if it is a ghostdet backbone (to explain a failed detector build)."""
    from mmdet.registry import MODELS

    backbone_cfg = cfg.get('backbone')
    if not builds_lightweight_backbone(backbone_cfg):
        return None
    try:
        return MODELS.build(backbone_cfg)
    except Exception:  # the backbone config itself is wrong: the original error says so
        return None


def _checked_build(build_func):
    @functools.wraps(build_func)
    def build(cfg, *args, **kwargs):
        is_model_cfg = isinstance(cfg, dict) and 'neck' in cfg and 'backbone' in cfg
        try:
            model = build_func(cfg, *args, **kwargs)
        except Exception:
            # a neck given the wrong channels often fails inside its own constructor (FPN's and SSDNeck's
            # assertions); name the actual cause instead
            backbone = _ghostdet_backbone_from_cfg(cfg) if is_model_cfg else None
            if backbone is not None:
                check_neck_in_channels(backbone, cfg['neck'], str(cfg.get('type', 'model')))
            raise
        if is_model_cfg and isinstance(model, nn.Module):
            check_neck_in_channels(getattr(model, 'backbone', None), cfg['neck'], type(model).__name__)
        return model

    build.checks_neck = True
    return build


def install_neck_check() -> None:
    """Check necks whenever mmengine's or mmdet's ``MODELS`` registry builds a model (idempotent)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import MODELS as MMENGINE_MODELS

    for registry in (MMENGINE_MODELS, MMDET_MODELS):
        if not getattr(registry.build_func, 'checks_neck', False):
            registry.build_func = _checked_build(registry.build_func)
