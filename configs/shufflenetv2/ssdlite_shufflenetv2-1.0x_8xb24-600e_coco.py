# SSDLite 320x320 with ShuffleNetV2 1.0x: the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py', '../_base_/backbones/shufflenetv2-1.0x.py']

in_channels = (232, 1024)  # strides 16/32
model = dict(
    backbone=dict(_delete_=True, **_base_.shufflenetv2, out_indices=(2, 4)),
    neck=dict(in_channels=in_channels, out_channels=(*in_channels, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(*in_channels, 512, 256, 256, 128)))
