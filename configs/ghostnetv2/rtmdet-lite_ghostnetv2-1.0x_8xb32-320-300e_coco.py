# RTMDet-lite at 320 with GhostNetV2 1.0x: the GhostNet 1.0x config (same levels and channels) with the backbone
# type and ImageNet weights changed.
_base_ = ['../ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-320-300e_coco.py', '../_base_/backbones/ghostnetv2-1.0x.py']

model = dict(backbone=_base_.ghostnetv2)
