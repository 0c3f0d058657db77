# RetinaNet R-50 (mmdet 1x, 36.5 box AP) teaches RetinaNet GhostNetV3 1.0x (configs/ghostnetv3, same FPN and head):
# PKD on the five FPN levels (both 256 channels: no adapter) plus logit KD on the classification outputs (same
# anchors and classes at every location), both ramped in over the first 500 iterations.
# Teacher weights: mmdet's model zoo file (mmdet/.mim/configs/retinanet/metafile.yml), downloaded beforehand to
# checkpoints/; a missing or non-matching file stops the run before training starts. After training:
#   python tools/model_converters/export_student.py THIS_CONFIG work_dirs/.../epoch_12.pth student.pth student.py
_base_ = '../ghostnetv3/retinanet_ghostnetv3-1.0x_fpn_1x_coco.py'

teacher_checkpoint = 'checkpoints/retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(
        loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=6.0, warmup_iters=500),  # mmrazor's PKD weight
        # RetinaNet scores classes with independent sigmoids (focal loss): per-class Bernoulli KL
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=500)))
