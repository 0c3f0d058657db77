# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with ShuffleNetV2 1.5x as backbone;
# all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
model = dict(
    backbone=dict(_delete_=True, type='ShuffleNetV2', widen_factor=1.5, out_indices=(1, 2, 4)),
    neck=dict(in_channels=[176, 352, 1024]))
