# YOLOv3 at 320 with ShuffleNetV2 1.0x: the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/yolov3_ghostnet-1.0x_8xb24-320-300e_coco.py', '../_base_/backbones/shufflenetv2-1.0x.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.shufflenetv2, out_indices=(1, 2, 4)),  # strides 8/16/32
    neck=dict(in_channels=[1024, 232, 116]))  # YOLOV3Neck takes the levels deepest first
