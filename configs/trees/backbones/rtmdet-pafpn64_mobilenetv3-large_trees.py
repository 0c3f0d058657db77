# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with mmpretrain's MobileNetV3-large
# (levels as GhostNet's: 40 / 112 / 960 channels) as backbone; all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
custom_imports = dict(imports=['ghostdet', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.MobileNetV3', arch='large', out_indices=(6, 12, 16)),
    neck=dict(in_channels=[40, 112, 960]))
