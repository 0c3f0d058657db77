# DistillationDetector from mmdet's own configs only: RetinaNet R-50 (1x, 36.5 box AP) teaches RetinaNet R-18 (1x,
# 31.7 box AP). PKD on the five FPN levels (both necks are 256-channel, so no adapter) plus logit KD on the
# classification outputs (same anchors and classes at every location). Ramp both in over the first 500 iterations.
# Teacher weights: mmdet's model zoo file (see mmdet/.mim/configs/retinanet/metafile.yml), downloaded beforehand;
# a missing or non-matching file stops the run before training starts. After training, export the student with
#   python tools/model_converters/export_student.py THIS_CONFIG work_dirs/.../iter_N.pth student.pth student.py
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

teacher_checkpoint = 'checkpoints/retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(
        # mmrazor's PKD RetinaNet configs weight it 6-10 (its loss is ~1 - Pearson r per channel).
        loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=6.0, warmup_iters=500),
        # RetinaNet scores classes with independent sigmoids (focal loss), hence the per-class Bernoulli KL.
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=500)))
