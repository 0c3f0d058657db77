# RTMDet-lite at 416 with ShuffleNetV2 1.0x: the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-416-300e_coco.py', '../_base_/backbones/shufflenetv2-1.0x.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.shufflenetv2, out_indices=(1, 2, 4)),  # strides 8/16/32
    neck=[dict(_base_.channel_mapper, in_channels=[116, 232, 1024]), _base_.pafpn])
