# Backbone study, GhostNetV3 recipe: the tree distillation pair (PKD + logit KD from the GhostNet 1.3x teacher) with
# the student's backbone swapped for GhostNetV3 1.0x trained with its re-parameterisable branches.
_base_ = './rtmdet-pafpn_ghostnet-1.3x-to-1.0x_pkd-kd_trees.py'
model = dict(
    student=dict(
        backbone=dict(_delete_=True, type='GhostNetV3', widen_factor=1.0, out_indices=(4, 6, 9))))
