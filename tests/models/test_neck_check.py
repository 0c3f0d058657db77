"""A neck whose in_channels do not fit the ghostdet backbone's outputs fails when the detector is built."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import ghostdet  # noqa: F401
from ghostdet.models import install_neck_check

register_all_modules()
CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

GHOSTNET = dict(type='GhostNet', widen_factor=0.5, out_indices=(4, 6, 9))  # channels 20, 56, 480


def retinanet(in_channels, backbone=GHOSTNET):
    return dict(
        type='RetinaNet',
        data_preprocessor=dict(type='DetDataPreprocessor'),
        backbone=backbone,
        neck=dict(type='FPN', in_channels=in_channels, out_channels=32, num_outs=3),
        bbox_head=dict(type='RetinaHead', num_classes=3, in_channels=32, feat_channels=32,
                       anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                             ratios=[1.0], strides=[8, 16, 32]),
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True), loss_bbox=dict(type='L1Loss')))


def test_matching_neck_builds():
    model = MODELS.build(retinanet([20, 56, 480]))
    assert model.backbone.out_channels == [20, 56, 480]


@pytest.mark.parametrize('wrong', [[20, 56, 160], [24, 40, 112, 960], [480, 56, 20]])
def test_mismatch_names_both_lists(wrong):
    with pytest.raises(ValueError) as error:
        MODELS.build(retinanet(wrong))
    message = str(error.value)
    assert f'in_channels={wrong}' in message and 'out_channels=[20, 56, 480]' in message
    assert 'neck.in_channels=[20, 56, 480]' in message and '(4, 6, 9)' in message


def test_runner_registry_checks_too():
    """Runner.build_model builds through mmengine's root registry with mmdet as the default scope."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(ValueError, match=r'neck.in_channels=\[20, 56, 480\]'):
            MMENGINE_MODELS.build(retinanet([16, 56, 480]))


def test_yolov3_neck_takes_levels_deepest_first():
    cfg = Config.fromfile(CONFIGS / 'ghostnet/yolov3_ghostnet-1.0x_8xb24-320-300e_coco.py')
    cfg.model.backbone.init_cfg = None
    MODELS.build(cfg.model)  # [960, 112, 40]
    cfg.model.neck.in_channels = [40, 112, 960]  # the backbone's order: wrong for YOLOV3Neck
    with pytest.raises(ValueError, match=r'neck.in_channels=\[960, 112, 40\] \(deepest level first\)'):
        MODELS.build(cfg.model)


def test_ssd_neck():
    cfg = Config.fromfile(CONFIGS / 'ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.out_indices = (5, 9)  # 80 and 960 channels, while the neck (consistently) says 112, 960
    with pytest.raises(ValueError, match=r'SSDNeck has in_channels=\[112, 960\].*out_channels=\[80, 960\]'):
        MODELS.build(cfg.model)


def test_integer_in_channels_neck_takes_the_last_level(tmp_path):
    (tmp_path / 'yolof.py').write_text("_base_ = 'mmdet::yolof/yolof_r50-c5_8xb8-1x_coco.py'")
    cfg = Config.fromfile(tmp_path / 'yolof.py')
    cfg.model.backbone = dict(type='ShuffleNetV2', out_indices=(4, ))  # conv5, 1024 channels
    with pytest.raises(ValueError, match=r'DilatedEncoder has in_channels=2048.*Set neck.in_channels=1024'):
        MODELS.build(cfg.model)  # in_channels still the ResNet's
    cfg.model.neck.in_channels = 1024
    MODELS.build(cfg.model)


def test_other_backbones_are_not_checked():
    resnet = dict(type='ResNet', depth=18, out_indices=(1, 2, 3))
    MODELS.build(retinanet([128, 256, 512], backbone=resnet))


def test_install_is_idempotent():
    before = MODELS.build_func
    install_neck_check()
    assert MODELS.build_func is before
