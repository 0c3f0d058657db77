"""Inference ("deploy") form of a whole detector, as benchmarked and counted by the analysis tools."""
from collections import Counter

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm

from .backbones.base import LightweightBackbone
from .layers import fold_sequential_batch_norms, fuse_conv_bn


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
        if (order.index('norm') != order.index('conv') + 1 or not isinstance(module.conv, nn.Conv2d)
                or uses[id(module.conv)] > 1):
            continue
        module.conv = fuse_conv_bn(module.conv, module.norm)
        setattr(module, module.norm_name, nn.Identity())
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
