"""Inference ("deploy") form of a whole detector, and conversion of a trained checkpoint to it.

:func:`switch_detector_to_deploy` converts a built detector in place (analysis tools, benchmarks, export).
:func:`convert_to_deploy` converts a trained checkpoint for any ghostdet backbone family: the backbone's
re-parameterised branches are fused and its BatchNorms folded, and the result loads strictly into the same config
with ``model.backbone.deploy=True``, which builds the fused backbone directly.
"""
import copy
from collections import Counter
from typing import Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import CheckpointLoader
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint import extract_state_dict, load_state_dict_strict
from ..engine.output_files import check_output_paths, save_checkpoint_file, save_config_file
from .backbones.base import LightweightBackbone, builds_lightweight_backbone
from .layers import fold_bn_into_conv, fold_sequential_batch_norms

__all__ = ['fold_conv_module_norms', 'switch_detector_to_deploy', 'deploy_config', 'convert_to_deploy']


@torch.no_grad()
def fold_conv_module_norms(model: nn.Module) -> nn.Module:
    """Fold the BatchNorm of every mmcv ``ConvModule`` (conv then norm) into its conv, in place.

    A conv shared by several ConvModules with their own BatchNorms (``RTMDetSepBNHead`` shares convs across levels
    and keeps a BN per level) cannot absorb them all, so it is left as it is.
    """
    uses = Counter(id(m) for _, m in model.named_modules(remove_duplicate=False) if isinstance(m, nn.Conv2d))
    for module in model.modules():
        if not (isinstance(module, ConvModule) and module.with_norm and isinstance(module.norm, _BatchNorm)):
            continue
        order = list(module.order)
        # exactly nn.Conv2d: a subclass may compute differently (mmpretrain's Conv2dAdaptivePadding pads in its
        # forward), which the plain fused conv would drop
        if (order.index('norm') != order.index('conv') + 1 or type(module.conv) is not nn.Conv2d
                or uses[id(module.conv)] > 1):
            continue
        fold_bn_into_conv(module, 'conv', module.norm_name)
    return model


def switch_detector_to_deploy(model: nn.Module) -> nn.Module:
    """Eval mode; ghostdet backbones ``switch_to_deploy()`` (re-parameterised branches fused, BN folded,
    channels-last); BatchNorm folded into the preceding conv in the neck and heads. Outputs are unchanged."""
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, LightweightBackbone):
            module.switch_to_deploy()
    fold_conv_module_norms(model)
    fold_sequential_batch_norms(model)
    return model


def deploy_config(config: Config) -> Config:
    """``config`` with its ghostdet backbone built in the inference form.

    ``model.backbone.deploy=True``; the backbone's ``init_cfg`` is dropped, since ImageNet weights in the training
    form do not fit the fused backbone (the converted checkpoint holds its weights).
    """
    backbone = config.model.get('backbone')
    if not builds_lightweight_backbone(backbone):
        backbone_type = backbone.get('type') if isinstance(backbone, dict) else None
        raise ValueError(f'model.backbone is {backbone_type!r}, not a ghostdet backbone (GhostNet, GhostNetV2, '
                         f'GhostNetV3, ShuffleNetV1, ShuffleNetV2); for a DistillationDetector export the student '
                         f'first (tools/model_converters/export_student.py)')
    if backbone.get('deploy', False):
        raise ValueError('the config already builds the backbone in the inference form (model.backbone.deploy=True); '
                         'give the config the checkpoint was trained with')
    converted = copy.deepcopy(config)
    converted.model.backbone.deploy = True
    converted.model.backbone.init_cfg = None
    return converted


def convert_to_deploy(config: Union[str, Config], checkpoint: str, out_checkpoint: str,
                      out_config: Optional[str] = None, force: bool = False) -> nn.Module:
    """Convert a trained detector checkpoint's ghostdet backbone to the inference form; return the detector.

    Every check runs before anything is written: the outputs, the config's backbone, that the checkpoint fits the
    config exactly, and that the converted weights load strictly into the :func:`deploy_config` detector.

    Args:
        config (str | Config): The config the checkpoint was trained with.
        checkpoint (str): The trained checkpoint (its ``state_dict``; with an EMA hook that holds the EMA weights).
        out_checkpoint (str): Where to write the converted checkpoint (``meta`` and ``state_dict``).
        out_config (str, optional): Where to write :func:`deploy_config` of ``config`` (``.py``).
        force (bool): Overwrite existing output files. Default: False (refuse them).

    Raises:
        FileExistsError: An output exists and ``force`` is False.
        ValueError: An output path is unusable, or the backbone is not a ghostdet backbone in training form.
        CheckpointMismatchError: The checkpoint does not fit the config (missing, unexpected or mis-shaped keys).
    """
    check_output_paths(out_checkpoint, out_config, checkpoint, force)
    config = Config.fromfile(config) if isinstance(config, str) else config
    converted_config = deploy_config(config)
    init_default_scope(config.get('default_scope', 'mmdet'))
    model = MODELS.build(config.model)
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    load_state_dict_strict(model, extract_state_dict(raw, prefix=''), source=f'checkpoint {checkpoint!r}',
                           hint='Give the config the checkpoint was trained with.')
    model.eval()
    model.backbone.switch_to_deploy()
    state = model.state_dict()
    load_state_dict_strict(MODELS.build(converted_config.model), state, source='the converted weights')
    save_checkpoint_file(state, raw.get('meta', {}), out_checkpoint)
    if out_config:
        save_config_file(converted_config, out_config)
    return model
