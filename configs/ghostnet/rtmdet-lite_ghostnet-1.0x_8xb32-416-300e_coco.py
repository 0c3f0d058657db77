# RTMDet-lite with GhostNet 1.0x at 416x416, the detector to use on devices: RTMDet-tiny's recipe (300 epochs,
# Mosaic + MixUp, AdamW, EMA) with its CSPNeXt backbone swapped for GhostNet and a 96-channel depthwise neck and head
# (the NanoDet-Plus / PP-PicoDet budget): the neck and head together cost about as much as the backbone, where a
# 256-channel RetinaNet head costs tens of times a 140-MFLOP backbone.
_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', '../_base_/backbones/ghostnet-1.0x.py']
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

img_scale = (416, 416)
norm_cfg = dict(type='SyncBN')  # as RTMDet; the Runner reverts it to BN on one device
act_cfg = dict(type='SiLU', inplace=True)
# The neck first maps every level to 96 channels with a 1x1 conv (as NanoDet-Plus' Ghost-PAN): CSPNeXtPAFPN keeps
# its inputs' widths inside, which for GhostNet's 960-channel level would cost more than the backbone.
channel_mapper = dict(type='ChannelMapper', out_channels=96, kernel_size=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
pafpn = dict(type='CSPNeXtPAFPN', in_channels=[96, 96, 96], out_channels=96, num_csp_blocks=1, expand_ratio=0.5,
             use_depthwise=True, norm_cfg=norm_cfg, act_cfg=act_cfg)
model = dict(
    # the ImageNet weights expect RGB input normalised with the ImageNet statistics (RTMDet's CSPNeXt used BGR)
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(_delete_=True, **_base_.ghostnet, out_indices=(4, 6, 9)),  # strides 8/16/32
    neck=[dict(channel_mapper, in_channels=[40, 112, 960]), pafpn],
    # depthwise-separable convs cannot share one conv across levels (share_conv); each level gets its own
    bbox_head=dict(in_channels=96, feat_channels=96, use_depthwise=True, share_conv=False))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CachedMosaic', img_scale=img_scale, pad_val=114.0, max_cached_images=20, random_pop=False),
    dict(type='RandomResize', scale=(img_scale[0] * 2, img_scale[1] * 2), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=img_scale),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='CachedMixUp', img_scale=img_scale, ratio_range=(1.0, 1.0), max_cached_images=10, random_pop=False,
         pad_val=(114, 114, 114), prob=0.5),
    dict(type='PackDetInputs')
]
train_pipeline_stage2 = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=img_scale),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True, priority=49),
    dict(type='PipelineSwitchHook', switch_epoch=280, switch_pipeline=train_pipeline_stage2)
]
