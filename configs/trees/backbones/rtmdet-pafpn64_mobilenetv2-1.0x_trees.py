# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with mmdet's MobileNetV2 1.0x
# (levels: the last block of strides 8 and 16 and the 1280-channel conv) as backbone; all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1.0, out_indices=(2, 4, 7)),
    neck=dict(in_channels=[32, 96, 1280]))
