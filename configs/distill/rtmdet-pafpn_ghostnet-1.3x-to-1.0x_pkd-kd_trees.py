# The GhostNet tree detector as student (GhostNet 1.0x RTMDet-PAFPN64, same schedule, data and seed) distilled from the
# wider tree teacher (configs/trees/rtmdet-pafpn96_ghostnet-1.3x_trees-teacher.py): PKD on the three PAFPN levels (96
# teacher channels vs 64: learned 1x1 adapters) plus logit KD on the QFL classification outputs (same strides, one
# class). Run by tools/experiments/backbone_study.py (row ghostnet-kd; --train-teacher trains the teacher first).
_base_ = '../trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py'

teacher_checkpoint = 'work_dirs/distill_trees/teacher/iter_1000.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='{{fileDirname}}/../trees/rtmdet-pafpn96_ghostnet-1.3x_trees-teacher.py',
                 checkpoint=teacher_checkpoint),
    distill_losses=dict(
        loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=2.0, warmup_iters=100),
        loss_kd_cls=dict(type='LogitKDLoss', T=1.0, activation='sigmoid', loss_weight=1.0, warmup_iters=100)))
