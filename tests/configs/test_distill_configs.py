"""Every config under configs/distill: a missing or non-matching teacher checkpoint stops the build with a message
that says what to do; with a fitting teacher checkpoint the wrapper trains one step (every distillation loss
finite and non-zero, no gradient into the teacher) and predicts as the student."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.models.detectors import load_teacher_model_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'distill').glob('*.py'))
IDS = [p.stem for p in CONFIGS]


def load(path: Path, teacher_checkpoint: Path) -> Config:
    cfg = Config.fromfile(str(path))
    assert cfg.model.type == 'DistillationDetector' and 'ghostdet' in cfg.custom_imports.imports
    cfg.model.student.backbone.init_cfg = None  # no ImageNet file here; the architecture is what is tested
    cfg.model.teacher.checkpoint = str(teacher_checkpoint)
    return cfg


def save_random_teacher(cfg: Config, path: Path, backbone=None, neck=None) -> Path:
    """A randomly initialised teacher of the config's architecture (or with ``backbone``/``neck`` updated)."""
    teacher_cfg = load_teacher_model_config(cfg.model.teacher.config)
    teacher_cfg.backbone.update(backbone or {})
    teacher_cfg.neck.update(neck or {})
    torch.save(dict(state_dict=MODELS.build(teacher_cfg).state_dict()), path)
    return path


def test_every_coco_pair_is_shipped():
    assert {'retinanet_r50-to-ghostnetv3-1.0x_pkd-kd_fpn_1x_coco', 'gfl_r50-to-ghostnet-1.0x_ld_fpn_1x_coco',
            'rtmdet-s-to-rtmdet-lite_ghostnet-1.0x_pkd-kd_8xb32-416-300e_coco',
            'faster-rcnn_r50-to-ghostnet-1.0x_pkd_fpn_1x_coco'} <= set(IDS)


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_missing_teacher_checkpoint_stops_the_build(path, tmp_path):
    cfg = load(path, tmp_path / 'no_such_teacher.pth')
    with pytest.raises(FileNotFoundError, match=r"no_such_teacher\.pth' does not exist; train the teacher first"):
        MODELS.build(cfg.model)


def test_teacher_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = REPO / 'configs/distill/rtmdet-pafpn_ghostnet-1.3x-to-1.0x_pkd-kd_trees.py'
    cfg = load(path, tmp_path / 'teacher.pth')
    save_random_teacher(cfg, tmp_path / 'teacher.pth', backbone=dict(widen_factor=1.0),
                        neck=dict(in_channels=[40, 112, 960]))  # the student's backbone, not the teacher's
    with pytest.raises(CheckpointMismatchError, match='must come from training model.teacher.config'):
        MODELS.build(cfg.model)


def demo_batch(batch_size: int, num_classes: int) -> dict:
    """mmdet's random demo batch (96x128 images); its label sampler needs 2+ classes, so fold them for 1."""
    packed = demo_mm_inputs(batch_size, [(3, 96, 128)] * batch_size, num_items=[3, 2][:batch_size],
                            num_classes=max(num_classes, 2))
    for sample in packed['data_samples']:
        sample.gt_instances.labels.clamp_(max=num_classes - 1)
    return packed


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_pair_trains_one_step_and_predicts_as_the_student(path, tmp_path):
    cfg = load(path, tmp_path / 'teacher.pth')
    save_random_teacher(cfg, tmp_path / 'teacher.pth')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    num_classes = model.student.bbox_head.num_classes if hasattr(model.student, 'bbox_head') else \
        model.student.roi_head.bbox_head.num_classes
    data = model.data_preprocessor(demo_batch(2, num_classes), True)
    losses = model(**data, mode='loss')
    for name in cfg.model.distill_losses:
        assert torch.isfinite(losses[name]) and losses[name] > 0, (name, losses[name])
    model.parse_losses(losses)[0].backward()
    assert all(p.grad is None for p in model.teacher.parameters())

    model.eval()
    with torch.no_grad():
        (result, ) = model.test_step(demo_batch(1, num_classes))
    assert isinstance(result, DetDataSample) and result.pred_instances.bboxes.shape[1] == 4
