# SSDLite 320x320 with GhostNet 1.0x: mmdet's MobileNetV2 config (21.3 mAP from scratch, published by mmdet) with
# the backbone swapped. mmdet trains its baseline from scratch; this config starts from ImageNet weights.
_base_ = ['mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', '../_base_/backbones/ghostnet-1.0x.py']
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

in_channels = (112, 960)  # strides 16/32 (MobileNetV2 there: layer 4 and conv2, 96/1280 channels)
model = dict(
    backbone=dict(_delete_=True, **_base_.ghostnet, out_indices=(6, 9)),
    # SSDNeck passes its inputs through as its first outputs, then adds four depthwise levels (strides 64-320)
    neck=dict(in_channels=in_channels, out_channels=(*in_channels, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(*in_channels, 512, 256, 256, 128)))
