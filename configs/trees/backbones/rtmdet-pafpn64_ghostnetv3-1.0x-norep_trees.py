# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with GhostNetV3 1.0x built in its
# fused form, i.e. trained without the re-parameterisable branches (GhostNetV2's shape) as backbone; all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
model = dict(
    backbone=dict(_delete_=True, type='GhostNetV3', widen_factor=1.0, deploy=True, out_indices=(4, 6, 9)),
    neck=dict(in_channels=[40, 112, 960]))
