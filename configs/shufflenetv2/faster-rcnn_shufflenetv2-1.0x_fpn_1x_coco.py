# Faster R-CNN-FPN 1x with ShuffleNetV2 1.0x: the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py', '../_base_/backbones/shufflenetv2-1.0x.py']

model = dict(
    # strides 4/8/16/32; conv1 frozen and ImageNet BN statistics kept (2 images per GPU), as for ResNet
    backbone=dict(_delete_=True, **_base_.shufflenetv2, out_indices=(0, 1, 2, 4), frozen_stages=1, norm_eval=True),
    neck=dict(in_channels=[24, 116, 232, 1024]))
