# GFL R-50 (mmdet 1x, 40.2 box AP) teaches GFL GhostNet 1.0x: localization distillation of the box-side
# distributions (both heads reg_max=16; T=10 and weight 0.25 as mmdet's LD configs) plus logit KD on the
# quality-focal classification outputs.
_base_ = '../ghostnet/gfl_ghostnet-1.0x_fpn_1x_coco.py'

teacher_checkpoint = 'checkpoints/gfl_r50_fpn_1x_coco_20200629_121244-25944287.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::gfl/gfl_r50_fpn_1x_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(
        loss_ld=dict(type='LDLoss', T=10, loss_weight=0.25, warmup_iters=500),
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=500)))
