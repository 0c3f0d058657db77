"""Every COCO config under configs/ builds, trains one step and predicts on a tiny generated batch.

configs/trees, configs/distill and configs/small_object are tested by their own test files. ImageNet checkpoints
are not in the repository: each config must point its backbone at one under checkpoints/, which is then skipped.
"""
import logging
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import revert_sync_batchnorm
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules

import ghostdet  # noqa: F401
from ghostdet.analysis import config_input_shape
from ghostdet.models.backbones import LightweightBackbone

REPO = Path(__file__).resolve().parents[2]
TESTED_ELSEWHERE = {'_base_', 'trees', 'distill', 'small_object'}
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if not TESTED_ELSEWHERE & set(p.relative_to(REPO / 'configs').parts))


@pytest.fixture(autouse=True, scope='module')
def quiet_single_threaded():
    """No per-parameter init_weights logs (the suite runs single-threaded: tests/conftest.py)."""
    register_all_modules()
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def build_without_pretrained(cfg: Config):
    """The config's model with random weights; two-stage detectors sample fewer RoIs (the RoI head's 12544 x 1024
    FC on 2 x 512 RoIs would take most of the sweep's time)."""
    cfg.model.backbone.init_cfg = None
    if 'roi_head' in cfg.model:
        cfg.model.train_cfg.rpn_proposal.max_per_img = cfg.model.test_cfg.rpn.max_per_img = 100
        rcnn = cfg.model.train_cfg.rcnn
        for stage in rcnn if isinstance(rcnn, list) else [rcnn]:  # a list in cascades
            stage.sampler.num = 64
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model


def train_and_predict(model, image_shape=(3, 64, 96)):
    """One training step (finite losses, gradients reach the backbone) and one prediction."""
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


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO / 'configs')))
def test_config_builds_trains_and_predicts(path):
    cfg = Config.fromfile(str(path))
    assert 'ghostdet' in cfg.custom_imports['imports']
    init = cfg.model.backbone.init_cfg
    assert init['type'] == 'Pretrained' and init['checkpoint'].startswith('checkpoints/'), init
    assert cfg.val_evaluator.ann_file == 'data/coco/annotations/instances_val2017.json'
    for size in (320, 416):  # the input size in the name is the one every pipeline uses
        if f'-{size}-' in path.name:
            assert config_input_shape(cfg) == (size, size)
            if 'rtmdet' in path.name:
                assert [step['size'] for step in cfg.train_pipeline if step['type'] == 'Pad'] == [(size, size)]
    model = build_without_pretrained(cfg)
    assert isinstance(model.backbone, LightweightBackbone)
    train_and_predict(model)


def test_sweep_covers_every_backbone_and_detector():
    names = {p.name for p in CONFIGS}
    for backbone in ('ghostnet-1.0x', 'ghostnetv2-1.0x', 'ghostnetv3-1.0x', 'shufflenetv1-g3-1.0x',
                     'shufflenetv2-1.0x'):
        for detector in ('retinanet_{}_fpn_1x_coco.py', 'faster-rcnn_{}_fpn_1x_coco.py',
                         'yolov3_{}_8xb24-320-300e_coco.py', 'yolov3_{}_8xb24-ms-416-300e_coco.py',
                         'ssdlite_{}_8xb24-600e_coco.py', 'rtmdet-lite_{}_8xb32-320-300e_coco.py',
                         'rtmdet-lite_{}_8xb32-416-300e_coco.py'):
            assert detector.format(backbone) in names
