# Backbone study, GhostNetV3 recipe: GhostNetV3 1.0x with MixUp (mmdet's, YOLOX-style: every crop blended 50/50 with
# another augmented crop, boxes of both kept), to test on detection the paper's finding that MixUp hurts compact models.
_base_ = './rtmdet-pafpn64_ghostnetv3-1.0x_trees.py'
train_pipeline = [
    dict(type='RandomCrop', crop_size=_base_.crop_size, allow_negative_crop=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomRotate90', prob=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='MixUp', img_scale=_base_.crop_size, ratio_range=(1.0, 1.0), flip_ratio=0.0, pad_val=114.0),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            _base_.train_dataloader.dataset,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]),
        pipeline=train_pipeline))
