# RetinaNet-FPN 1x with GhostNet 1.1x, the width of the GhostNet paper's COCO experiments (Table 8: 26.6 mAP,
# published). No 1.1x ImageNet weights are released: train your own (README, "COCO detectors").
_base_ = './retinanet_ghostnet-1.0x_fpn_1x_coco.py'

model = dict(
    backbone=dict(widen_factor=1.1,
                  init_cfg=dict(type='Pretrained', checkpoint='checkpoints/ghostnet_1.1x_imagenet.pth')),
    neck=dict(in_channels=[28, 44, 124, 1056]))
