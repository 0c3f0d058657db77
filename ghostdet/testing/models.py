"""Models for tests: backbones built the user's way, detectors without ImageNet files, non-trivial BatchNorms."""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm


def randomise_batch_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics and affine parameters, so a wrongly placed or wrongly folded BN cannot hide."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if not isinstance(module, _BatchNorm):
            continue
        n = module.num_features
        with torch.no_grad():
            if module.track_running_stats:
                module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            if module.affine:
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
    return model


def build_backbone(type: str, checkpoint: Optional[str] = None, pretrained: Optional[dict] = None,
                   **kwargs) -> nn.Module:
    """A backbone from mmdet's registry, loaded from ``checkpoint`` the user's way (``init_cfg=dict(type=
    'Pretrained', checkpoint=..., **pretrained)`` and ``init_weights()``) if given; eval mode.

    Args:
        type (str): Registered backbone name, e.g. ``'GhostNet'``.
        checkpoint (str, optional): A checkpoint file to load.
        pretrained (dict, optional): More ``Pretrained`` init_cfg arguments (e.g. ``use_ema``).
        **kwargs: The backbone's arguments.
    """
    init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint), **(pretrained or {})) if checkpoint else None
    model = MODELS.build(dict(type=type, init_cfg=init_cfg, **kwargs))
    if checkpoint:
        model.init_weights()
    return model.eval()


def build_without_pretrained(cfg: Config) -> nn.Module:
    """The config's model with random weights; two-stage detectors sample fewer RoIs (the RoI head's 12544 x 1024
    FC on 2 x 512 RoIs would take most of a test's time)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))  # nested parts (data preprocessor) resolve in its scope
    cfg.model.backbone.init_cfg = None
    if 'roi_head' in cfg.model:
        cfg.model.train_cfg.rpn_proposal.max_per_img = cfg.model.test_cfg.rpn.max_per_img = 100
        rcnn = cfg.model.train_cfg.rcnn
        for stage in rcnn if isinstance(rcnn, list) else [rcnn]:  # a list in cascades
            stage.sampler.num = 64
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model


def train_and_predict(model: nn.Module, image_shape=(3, 64, 96)) -> None:
    """One training step (finite losses, gradients reach the backbone's last output level) and one prediction."""
    torch.manual_seed(0)
    model.train()
    packed = demo_mm_inputs(2, [image_shape] * 2, num_items=[3, 2], num_classes=80)
    data = model.data_preprocessor(packed, True)
    loss, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values()), log_vars
    loss.backward()
    last_level = [p for p in model.backbone._levels[model.backbone.out_indices[-1]].parameters() if p.requires_grad]
    assert last_level and all(p.grad is not None and p.grad.abs().sum() > 0 for p in last_level)

    model.eval()
    with torch.no_grad():
        (result, ) = model.test_step(demo_mm_inputs(1, [image_shape], num_classes=80))
    assert isinstance(result, DetDataSample)
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(result.pred_instances.scores) == len(boxes)
