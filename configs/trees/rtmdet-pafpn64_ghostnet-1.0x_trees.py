# The GhostNet tree detector (the tree recipe; the main job, rtmdet-pafpn64_shufflenetv1-g3-1.0x_trees.py, inherits it
# with another backbone): a GhostNet 1.0x RTMDet-PAFPN64 detector trained from scratch on CPU on the embedded NEON tree
# data (tools/dataset_converters/deepforest_to_coco.py), evaluated with mmdet's CocoMetric on the held-out val regions.
# Fresh random 256-px crops of the 640-px tiles every step, all 8 flips / quarter turns, batch 8, EMA (README).
_base_ = ['mmdet::_base_/default_runtime.py', '../_base_/models/rtmdet-pafpn64_ghostnet-1.0x.py']
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

data_root = 'data/trees/'
metainfo = dict(classes=('tree', ), palette=[(0, 200, 0)])
crop_size = (256, 256)
max_iters = 600
base_lr = 0.004

model = dict(neck=dict(use_depthwise=True), bbox_head=dict(num_classes=1))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomCrop', crop_size=crop_size, allow_negative_crop=True),
    dict(type='YOLOXHSVRandomAug'),  # before the flips: OpenCV needs the contiguous crop
    dict(type='RandomRotate90', prob=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),  # tiles at native resolution
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=2),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json', metric='bbox')
test_evaluator = val_evaluator

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.02, by_epoch=False, begin=30, end=max_iters, T_max=max_iters - 30)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
# EMA over roughly the last 100 steps; its weights are the ones evaluated and reloaded by tools/test.py.
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.01, gamma=100, update_buffers=True, priority=49)
]
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=8)  # --auto-scale-lr: lr x (processes x batch 8) / 8
