# RTMDet-s (mmdet, 44.5 box AP at 640) teaches the device detector, RTMDet-lite GhostNet 1.0x at 416
# (configs/ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-416-300e_coco.py): PKD on the three PAFPN levels (128 teacher
# channels vs 96: learned 1x1 adapters) plus logit KD on the classification outputs (same strides 8/16/32, same
# classes; the teacher sees the student's 416-px batches, re-normalised to its own BGR statistics).
# Teacher weights: mmdet's model zoo file (mmdet/.mim/configs/rtmdet/metafile.yml), downloaded beforehand to
# checkpoints/; a missing or non-matching file stops the run before training starts.
_base_ = '../ghostnet/rtmdet-lite_ghostnet-1.0x_8xb32-416-300e_coco.py'

teacher_checkpoint = 'checkpoints/rtmdet_s_8xb32-300e_coco_20220905_161602-387a891e.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(
        loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=2.0, warmup_iters=1000),
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=1000)))
