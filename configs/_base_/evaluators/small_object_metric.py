# Evaluator base: mmdet's COCO detection dataset settings with ghostdet's SmallObjectMetric in place of CocoMetric:
# the 12 standard COCO numbers exactly as pycocotools' summarize() (all at 100 detections per image, unlike
# CocoMetric's 1000) plus AP / AP50 / AP75 / AR / recall@0.5 per AI-TOD size range (very tiny 0-8², tiny 8²-16²,
# small 16²-32², medium > 32², up to 1500 detections per image).
# Put it in a _base_ list where mmdet::_base_/datasets/coco_detection.py would go, or switch an existing config with
#   --cfg-options val_evaluator.type=SmallObjectMetric test_evaluator.type=SmallObjectMetric
# (ghostdet's tools/test.py imports ghostdet; with mmdet's own, add custom_imports.imports="['ghostdet']").
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

val_evaluator = dict(
    type='SmallObjectMetric',
    area_ranges='aitod',  # or 'tinyperson', 'coco', or dict(name=(min_area, max_area)) in px²
    area_source='annotation',  # COCO's "area" field (mask area); 'box' for w*h (AI-TOD, most tiny-object sets)
    classwise=False)
test_evaluator = val_evaluator
