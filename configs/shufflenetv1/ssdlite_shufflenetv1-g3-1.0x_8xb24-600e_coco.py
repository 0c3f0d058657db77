# SSDLite 320x320 with ShuffleNetV1 1.0x (g=3): the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/ssdlite_ghostnet-1.0x_8xb24-600e_coco.py', '../_base_/backbones/shufflenetv1-g3-1.0x.py']

in_channels = (480, 960)  # strides 16/32
model = dict(
    backbone=dict(_delete_=True, **_base_.shufflenetv1, out_indices=(2, 3)),
    neck=dict(in_channels=in_channels, out_channels=(*in_channels, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(*in_channels, 512, 256, 256, 128)))
