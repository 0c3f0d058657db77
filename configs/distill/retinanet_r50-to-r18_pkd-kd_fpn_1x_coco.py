# mmdet's own configs only: RetinaNet R-50 (1x, 36.5 box AP) teaches RetinaNet R-18 (1x, 31.7 box AP) by PKD on
# the five 256-channel FPN levels plus logit KD on the classification outputs, both ramped in over 500 iterations.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

teacher_checkpoint = 'checkpoints/retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(
        loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=6.0, warmup_iters=500),
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=500)))
