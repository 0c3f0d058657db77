# RTMDet-s (mmdet, 44.5 box AP at 640) teaches the device detector, RTMDet-lite GhostNet 1.0x at 416: PKD on the
# three PAFPN levels (128 teacher channels vs 96: learned 1x1 adapters) plus logit KD on the classification outputs;
# the teacher sees the student's batches re-normalised to its own statistics.
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
