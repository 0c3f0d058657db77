# Backbone study (tools/experiments/backbone_study.py): the GhostNet tree detector with mmpretrain's EfficientNet-B0
# (the last stage of strides 8 and 16 and the 1280-channel conv) as backbone; all else equal.
_base_ = '../rtmdet-pafpn64_ghostnet-1.0x_trees.py'
custom_imports = dict(imports=['ghostdet', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.EfficientNet', arch='b0', out_indices=(3, 4, 6)),
    neck=dict(in_channels=[40, 112, 1280]))
