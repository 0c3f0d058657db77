# GFL-FPN 1x with GhostNet 1.0x: mmdet's ResNet-50 config with the backbone swapped (the student of
# configs/distill/gfl_r50-to-ghostnet-1.0x_ld_fpn_1x_coco.py).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py', '../_base_/backbones/ghostnet-1.0x.py']
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

model = dict(
    # strides 4/8/16/32; stem + blocks.0 frozen and ImageNet BN statistics kept (2 images per GPU), as for ResNet
    backbone=dict(_delete_=True, **_base_.ghostnet, out_indices=(2, 4, 6, 9), frozen_stages=1, norm_eval=True),
    neck=dict(in_channels=[24, 40, 112, 960]))
