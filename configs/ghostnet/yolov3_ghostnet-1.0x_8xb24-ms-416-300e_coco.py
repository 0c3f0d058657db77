# YOLOv3 (mobile variant: 96-channel neck and head) with GhostNet 1.0x, multi-scale 320-416 training and 416 testing
# (the GhostNetV2 / V3 papers' COCO setting): mmdet's MobileNetV2 config (23.9 mAP, published) with the backbone
# swapped.
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py', '../_base_/backbones/ghostnet-1.0x.py']
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, **_base_.ghostnet, out_indices=(4, 6, 9)),  # strides 8/16/32
    neck=dict(in_channels=[960, 112, 40]))  # YOLOV3Neck takes the levels deepest first
