# Backbone study, GhostNetV3 recipe: GhostNetV3 1.0x with MixUp, to test on detection the paper's finding that MixUp
# hurts compact models (on classification). ghostdet's CropMixUp: half of the crops are blended 50/50 with a same-size
# window of another training tile at its own scale, boxes of both kept. (mmdet's YOLOX MixUp would shrink the other
# 640-px tile into the 256-px crop and blend every crop: AP50 0.026 on seed 0, README.)
_base_ = './rtmdet-pafpn64_ghostnetv3-1.0x_trees.py'
train_pipeline = [
    dict(type='RandomCrop', crop_size=_base_.crop_size, allow_negative_crop=True),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomRotate90', prob=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='CropMixUp', prob=0.5),
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
