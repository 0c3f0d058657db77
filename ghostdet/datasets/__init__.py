"""Datasets: embedded tree data, synthetic COCO generator, transforms (registered in mmdet TRANSFORMS)."""
from .synthetic import SYNTHETIC_CLASSES, generate_synthetic_coco
from .transforms import CropMixUp, RandomRotate90
from .trees import MAIN_JOB_CONFIG, MAIN_JOB_WORK_DIR, build_tree_dataset, tree_dataset_ready

__all__ = ['SYNTHETIC_CLASSES', 'generate_synthetic_coco', 'CropMixUp', 'RandomRotate90', 'MAIN_JOB_CONFIG',
           'MAIN_JOB_WORK_DIR', 'build_tree_dataset', 'tree_dataset_ready']
