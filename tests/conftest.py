from pathlib import Path

import pytest
import torch

pytest.register_assert_rewrite('ghostdet.testing')  # the helpers' asserts explain their failures as tests' do

from ghostdet.datasets import generate_synthetic_coco  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# The suite runs tiny tensors: one intra-op thread avoids the thread start-up and oversubscription that make small
# ops many times slower on a small, shared CI machine.
torch.set_num_threads(1)
TREE_RECIPE_CONFIG = REPO / 'configs' / 'trees' / 'rtmdet-pafpn64_ghostnet-1.0x_trees.py'


@pytest.fixture(scope='session')
def synthetic_coco(tmp_path_factory):
    """A tiny synthetic COCO dataset (train and val splits, 3 classes, 96x128 images)."""
    root = tmp_path_factory.mktemp('synthetic')
    for split, seed in (('train', 0), ('val', 1)):
        generate_synthetic_coco(str(root), num_images=4, image_size=(96, 128), size_range=(6, 40), seed=seed,
                                split=split)
    return root


def write_tiny_config(path: Path, data_root: Path, max_iters: int = 2) -> Path:
    """The GhostNet tree config shrunk for tests: GhostNet 0.5x, 64-px crops, batch 2, ``max_iters`` iterations."""
    path.write_text(f"""
_base_ = [{str(TREE_RECIPE_CONFIG)!r}]
data_root = {str(data_root) + '/'!r}
metainfo = dict(classes=('square', 'disc', 'triangle'))
max_iters = {max_iters}
model = dict(
    backbone=dict(widen_factor=0.5),
    neck=dict(in_channels=[20, 56, 480], out_channels=32),
    bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomCrop', crop_size=(64, 64), allow_negative_crop=True),
    dict(type='RandomRotate90', prob=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=3))
""")
    return path


@pytest.fixture(scope='session')
def make_tiny_config():
    return write_tiny_config


@pytest.fixture
def tiny_config(tmp_path, synthetic_coco):
    return write_tiny_config(tmp_path / 'tiny_config.py', synthetic_coco)
