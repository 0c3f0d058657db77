# Evaluator base: mmdet's COCO detection dataset settings with ghostdet's SmallObjectMetric (a CocoMetric drop-in on
# the hotcoco backend) in place of CocoMetric: pycocotools' 12 summary numbers plus AP / AR / recall@0.5 per AI-TOD
# size range. Put it where mmdet::_base_/datasets/coco_detection.py would go, or switch a config with
#   --cfg-options val_evaluator.type=SmallObjectMetric test_evaluator.type=SmallObjectMetric
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
custom_imports = dict(imports=['ghostdet'], allow_failed_imports=False)

val_evaluator = dict(
    type='SmallObjectMetric',
    area_ranges='aitod',  # or 'tinyperson', 'coco', or dict(name=(min_area, max_area)) in px²
    area_source='annotation',  # COCO's "area" field (mask area); 'box' for w*h (AI-TOD, most tiny-object sets)
    max_dets=(1, 10, 100),  # pycocotools' standard; (100, 300, 1000) gives CocoMetric's numbers
    error_analysis=False,  # True: TIDE errors per size range in the log and bbox_dAP_<type>_<range> results
    classwise=False)
test_evaluator = val_evaluator
