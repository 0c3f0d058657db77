# RetinaNet-FPN 1x with GhostNet 1.0x for small objects (mostly under ~32 px): the FPN starts at the stride-4 level
# (P2-P6 instead of P3-P7) and the anchors are halved (16-256 px instead of 32-512 px); about 4x the head's FLOPs.
# When to use it and what it costs: README, "Small objects".
_base_ = './retinanet_ghostnet-1.0x_fpn_1x_coco.py'

model = dict(
    neck=dict(start_level=0),  # P2 (stride 4, GhostNet blocks.2, 24 ch) .. P5, plus P6 from the stride-32 input
    # anchors are octave_base_scale (4) x stride: 16-256 px (x 2^(0, 1/3, 2/3) per level)
    bbox_head=dict(anchor_generator=dict(strides=[4, 8, 16, 32, 64])))
