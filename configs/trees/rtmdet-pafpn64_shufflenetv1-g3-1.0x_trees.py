# The main job (`make demo`): the tree recipe of rtmdet-pafpn64_ghostnet-1.0x_trees.py (crops, augmentation,
# schedule, neck and head) with ShuffleNetV1 g3 1.0x as backbone, the backbone study's best row at the main job's
# training cost (README, "Which backbone for small objects").
_base_ = './rtmdet-pafpn64_ghostnet-1.0x_trees.py'
model = dict(
    backbone=dict(_delete_=True, type='ShuffleNetV1', groups=3, widen_factor=1.0, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[240, 480, 960]))
