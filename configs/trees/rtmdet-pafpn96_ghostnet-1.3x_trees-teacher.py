# The teacher of the tree distillation rows (backbone_study.py --train-teacher trains it): the GhostNet tree detector
# made wider (GhostNet 1.3x, 96-channel neck and head, about 2x the student's FLOPs) and trained 1000 iterations
# instead of 600. Same data, augmentation, seed and validation as the student.
_base_ = './rtmdet-pafpn64_ghostnet-1.0x_trees.py'

max_iters = 1000
channels = 96
model = dict(
    backbone=dict(widen_factor=1.3),
    neck=dict(in_channels=[52, 144, 1248], out_channels=channels),
    bbox_head=dict(in_channels=channels, feat_channels=channels))

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.02, by_epoch=False, begin=30, end=max_iters, T_max=max_iters - 30)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
