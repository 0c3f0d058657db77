# Faster R-CNN R-50 (mmdet 1x, 37.4 box AP) teaches Faster R-CNN GhostNet 1.0x (same FPN, RPN and RoI head) by PKD
# on the five 256-channel FPN levels alone: the two-stage heads sample different proposals in teacher and student,
# so their outputs are not compared.
_base_ = '../ghostnet/faster-rcnn_ghostnet-1.0x_fpn_1x_coco.py'

teacher_checkpoint = 'checkpoints/faster_rcnn_r50_fpn_1x_coco_20200130-047c8118.pth'

model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', checkpoint=teacher_checkpoint),
    distill_losses=dict(loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=6.0, warmup_iters=500)))
