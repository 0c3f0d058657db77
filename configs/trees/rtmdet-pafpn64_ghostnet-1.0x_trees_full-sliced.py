# The main-job tree detector evaluated by tools/test.py on each held-out region as ONE whole image
# (annotations/val_full.json), predicted by slicing inside mmdet's test flow (SlicedInference: ghostdet.inference's
# slicing and merging, SAHI's semantics, the options of tools/infer.py):
#   python tools/test.py configs/trees/rtmdet-pafpn64_ghostnet-1.0x_trees_full-sliced.py \
#       $(cat work_dirs/trees_demo/last_checkpoint)
# Other settings from the command line, e.g. --cfg-options model.slice_size=640 model.full_image_pass=True
# model.merge=greedy_nmm model.match_metric=ios. CocoMetric reads mAP at 100 detections per image and the other
# numbers at 1000; README's full-image table (tools/experiments/full_image_trees.py) reads all at 300.
_base_ = ['./rtmdet-pafpn64_ghostnet-1.0x_trees.py']

model = dict(
    _delete_=True,
    type='SlicedInference',
    detector=_base_.model,
    slice_size=256,  # the training crop size
    overlap=0.2,
    full_image_pass=False,
    merge='nms',
    match_metric='iou',
    match_thr=0.5,
    class_agnostic=False,
    score_thr=0.0,  # keep every detection of the detector's test_cfg for AP
    batch_size=8,
    slice_pipeline=[dict(type='PackDetInputs')])  # slices at native resolution

full_image_pipeline = [  # whole regions as they are: the wrapper slices them
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape'))
]
test_dataloader = dict(
    batch_size=1,
    dataset=dict(ann_file='annotations/val_full.json', data_prefix=dict(img='val_full/'), pipeline=full_image_pipeline))
val_dataloader = test_dataloader
test_evaluator = dict(type='CocoMetric', ann_file=_base_.data_root + 'annotations/val_full.json', metric='bbox')
val_evaluator = test_evaluator
