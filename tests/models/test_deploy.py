"""The inference form of a whole detector computes the same outputs with the BatchNorms folded away."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from torch.nn.modules.batchnorm import _BatchNorm

import ghostdet  # noqa: F401
from ghostdet.models import switch_detector_to_deploy
from ghostdet.testing import randomise_batch_norms

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def build_rtmdet_lite(backbone: str = 'GhostNetV3', **head):
    """The RTMDet-lite config on a GhostNet 0.5x (20 / 56 / 480 channels), random BN statistics, eval mode."""
    register_all_modules()
    cfg = Config.fromfile(str(CONFIGS / 'ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py'))
    cfg.model.backbone.update(type=backbone, widen_factor=0.5, init_cfg=None)
    cfg.model.neck[0].in_channels = [20, 56, 480]
    cfg.model.bbox_head.update(head)
    return randomise_batch_norms(revert_sync_batchnorm(MODELS.build(cfg.model))).eval()


@torch.no_grad()
def assert_same_outputs_after_deploy(model):
    x = torch.randn(1, 3, 96, 128)
    before = [t for level in model._forward(x) for t in level]
    switch_detector_to_deploy(model)
    after = [t for level in model._forward(x) for t in level]
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * b.abs().max()), (a - b).abs().max()


def batch_norms(model):
    return {name for name, m in model.named_modules() if isinstance(m, _BatchNorm)}


def test_every_batch_norm_folded():
    """GhostNetV3 branches fused and BN folded in the backbone, ChannelMapper, depthwise PAFPN and head."""
    model = build_rtmdet_lite()
    assert_same_outputs_after_deploy(model)
    assert not batch_norms(model)


def test_convs_shared_across_levels_keep_their_batch_norms():
    """RTMDetSepBNHead(share_conv=True): one conv per stacked layer, one BN per level: nothing can be folded there,
    and the shared conv must stay shared and unchanged."""
    model = build_rtmdet_lite('GhostNet', use_depthwise=False, share_conv=True)
    shared = model.bbox_head.cls_convs[0][0].conv
    weight = shared.weight.clone()
    assert model.bbox_head.cls_convs[1][0].conv is shared
    assert_same_outputs_after_deploy(model)
    assert model.bbox_head.cls_convs[1][0].conv is shared and torch.equal(shared.weight, weight)
    left = batch_norms(model)
    assert left and all(name.startswith(('bbox_head.cls_convs', 'bbox_head.reg_convs')) for name in left)


def test_ssdlite_shufflenetv2():
    register_all_modules()
    cfg = Config.fromfile(str(CONFIGS / 'shufflenetv2/ssdlite_shufflenetv2-1.0x_8xb24-600e_coco.py'))
    cfg.model.backbone.init_cfg = None
    model = randomise_batch_norms(revert_sync_batchnorm(MODELS.build(cfg.model))).eval()
    assert_same_outputs_after_deploy(model)
    assert not batch_norms(model)


def test_conv_subclasses_keep_their_own_forward():
    """mmpretrain's EfficientNet pads inside its ``Conv2dAdaptivePadding`` (a ``Conv2d`` subclass): folding its BN
    into a plain conv would drop that padding and change the output shapes, so such convs keep their BN."""
    import mmpretrain.models  # noqa: F401  (registers the mmpretrain. scope)
    register_all_modules()
    cfg = Config.fromfile(str(CONFIGS / 'trees/backbones/rtmdet-pafpn64_efficientnet-b0_trees.py'))
    model = randomise_batch_norms(MODELS.build(cfg.model)).eval()
    adaptive = [m for m in model.backbone.modules() if type(m).__name__ == 'Conv2dAdaptivePadding']
    assert adaptive
    assert_same_outputs_after_deploy(model)
    assert all(type(m).__name__ == 'Conv2dAdaptivePadding' for m in adaptive)
