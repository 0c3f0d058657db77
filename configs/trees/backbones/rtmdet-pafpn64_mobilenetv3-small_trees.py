# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with mmpretrain's MobileNetV3-small
# (the last layer of strides 8 and 16 and the 576-channel conv) as backbone; all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
custom_imports = dict(imports=['ghostdet', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.MobileNetV3', arch='small', out_indices=(3, 8, 12)),
    neck=dict(in_channels=[24, 48, 576]))
