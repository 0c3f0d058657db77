# RTMDet-lite at 320 with ShuffleNetV1 1.0x (g=3): the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py', '../_base_/backbones/shufflenetv1-g3-1.0x.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.shufflenetv1, out_indices=(1, 2, 3)),  # strides 8/16/32
    neck=[dict(_base_.channel_mapper, in_channels=[240, 480, 960]), _base_.pafpn])
