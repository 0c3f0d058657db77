# Faster R-CNN with a GhostNet 1.0x backbone and FPN on strides 4-32 (+ P6), evaluated for small objects.
# The stride-4 level (24 channels) keeps the objects below 16 px that a stride-8 detector barely sees; RPN anchors
# start at 32² px on P2 (mmdet's default scale 8 x stride 4).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/evaluators/small_object_metric.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

model = dict(
    # GhostNet(widen_factor=1.0, out_indices=(2, 4, 6, 9)): strides 4/8/16/32, channels 24/40/112/960
    backbone=dict(_delete_=True, type='GhostNet', widen_factor=1.0, out_indices=(2, 4, 6, 9), norm_eval=False),
    neck=dict(in_channels=[24, 40, 112, 960]),
    # keep more boxes per image for crowded small objects (AI-TOD ranges are read at up to 1500)
    test_cfg=dict(rcnn=dict(max_per_img=300)))
