# RetinaNet-FPN 1x with GhostNet 1.0x for small objects: the FPN starts at the stride-4 level (P2-P6 instead of
# P3-P7) and the anchors are halved (16-256 px instead of 32-512 px).
#
# When to use it: datasets dominated by objects under ~32 px (aerial / drone imagery such as AI-TOD, VisDrone,
# TinyPerson, tree crowns in orthophotos). RetinaNet's default smallest anchor is 32 px on stride 8: a centred
# 12-px box overlaps it with IoU 0.14, far below the 0.5 positive threshold, so such an object is only matched to its
# single best anchor (min_pos_iou=0) and trains little. Here the smallest anchor is 16 px on a stride-4 map (IoU 0.56).
# Cost: the stride-4 level has 4x the positions of stride 8, so the 256-channel head costs 4x more and the neck
# ~4x (320x320: 60.5 instead of 15.4 GFLOPs, tools/analysis_tools/get_flops.py); objects above 256 px lose their
# own level. For general data (COCO as a whole) keep the default config.
_base_ = './retinanet_ghostnet-1.0x_fpn_1x_coco.py'

model = dict(
    neck=dict(start_level=0),  # P2 (stride 4, GhostNet blocks.2, 24 ch) .. P5, plus P6 from the stride-32 input
    # anchors are octave_base_scale (4) x stride: 16-256 px (x 2^(0, 1/3, 2/3) per level)
    bbox_head=dict(anchor_generator=dict(strides=[4, 8, 16, 32, 64])))
