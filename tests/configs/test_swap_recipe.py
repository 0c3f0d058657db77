"""README's recipe: inherit any mmdet detector config, replace ``model.backbone`` (``_delete_=True``) and
``model.neck.in_channels``, add ``custom_imports``. Tried on mmdet configs of several detector families."""
import pytest
from mmengine.config import Config
from mmdet.registry import MODELS

from ghostdet.testing import build_without_pretrained, train_and_predict

RECIPE = """
_base_ = '{base}'
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, {backbone}),
    neck=dict(in_channels={in_channels}))
"""

CASES = [  # mmdet config, ghostdet backbone, the neck's in_channels for it
    ('mmdet::atss/atss_r50_fpn_1x_coco.py', "type='GhostNetV2', out_indices=(2, 4, 6, 9)", [24, 40, 112, 960]),
    ('mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', "type='ShuffleNetV2', out_indices=(0, 1, 2, 4)",
     [24, 116, 232, 1024]),
    ('mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', "type='ShuffleNetV1', groups=3, out_indices=(1, 2, 3)",
     [240, 480, 960]),
    ('mmdet::yolof/yolof_r50-c5_8xb8-1x_coco.py', "type='GhostNet', out_indices=(9, )", 960),
]


def recipe(tmp_path, base, backbone, in_channels) -> Config:
    path = tmp_path / 'user_config.py'
    path.write_text(RECIPE.format(base=base, backbone=backbone, in_channels=in_channels))
    cfg = Config.fromfile(str(path))
    # the mmdet data preprocessors' batch augments (YOLOX: random resize up to 640 px) are not what is tested here
    cfg.model.data_preprocessor.pop('batch_augments', None)
    return cfg


@pytest.mark.parametrize('base, backbone, in_channels', CASES, ids=[case[0].split('/')[0][7:] for case in CASES])
def test_swapped_backbone_trains_and_predicts(tmp_path, base, backbone, in_channels):
    cfg = recipe(tmp_path, base, backbone, in_channels)
    model = build_without_pretrained(cfg)
    assert type(model.backbone).__name__ == backbone.split("'")[1]
    train_and_predict(model)


@pytest.mark.parametrize('base, backbone, in_channels', CASES, ids=[case[0].split('/')[0][7:] for case in CASES])
def test_forgotten_in_channels_fail_at_build(tmp_path, base, backbone, in_channels):
    path = tmp_path / 'user_config.py'
    path.write_text(f"_base_ = '{base}'\ncustom_imports = dict(imports=['ghostdet'])\n"
                    f"model = dict(backbone=dict(_delete_=True, {backbone}))\n")
    cfg = Config.fromfile(str(path))
    with pytest.raises(ValueError, match=rf'Set neck.in_channels={in_channels}'.replace('[', r'\[')):
        MODELS.build(cfg.model)
