# RetinaNet-FPN 1x with ShuffleNetV1 1.0x (g=3): the GhostNet 1.0x config with the backbone swapped.
_base_ = ['../ghostnet/retinanet_ghostnet-1.0x_fpn_1x_coco.py', '../_base_/backbones/shufflenetv1-g3-1.0x.py']

model = dict(
    # strides 4/8/16/32; conv1 frozen and ImageNet BN statistics kept (2 images per GPU), as for ResNet
    backbone=dict(_delete_=True, **_base_.shufflenetv1, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True),
    neck=dict(in_channels=[24, 240, 480, 960]))
