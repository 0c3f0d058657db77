# Faster R-CNN-FPN 1x with GhostNetV3 1.0x: the GhostNet 1.0x config (same levels and channels) with the backbone
# type and ImageNet weights changed.
_base_ = ['../ghostnet/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py', '../_base_/backbones/ghostnetv3-1.0x.py']

model = dict(backbone=_base_.ghostnetv3)
