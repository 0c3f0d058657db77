"""Every COCO config under configs/ builds, trains one step and predicts on a tiny generated batch.

configs/trees, configs/distill and configs/small_object are tested by their own test files. ImageNet checkpoints
are not in the repository: each config must point its backbone at one under checkpoints/, which is then skipped.
"""
from pathlib import Path

import pytest
from mmengine.config import Config

import ghostdet  # noqa: F401
from ghostdet.analysis import config_input_shape
from ghostdet.models.backbones import LightweightBackbone
from ghostdet.testing import build_without_pretrained, train_and_predict

REPO = Path(__file__).resolve().parents[2]
TESTED_ELSEWHERE = {'_base_', 'trees', 'distill', 'small_object'}
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if not TESTED_ELSEWHERE & set(p.relative_to(REPO / 'configs').parts))


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
