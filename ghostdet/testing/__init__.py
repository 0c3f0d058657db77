"""Helpers shared by ghostdet's tests and benchmarks (as ``mmdet.testing`` is mmdet's): models to test with
(:mod:`.models`), comparisons with reference implementations (:mod:`.compare`), random COCO problems with
pycocotools' evaluation (:mod:`.coco`, imported on its own)."""
from .compare import assert_close, conv_macs, timm_block_outputs
from .models import build_backbone, build_without_pretrained, randomise_batch_norms, train_and_predict

__all__ = ['assert_close', 'build_backbone', 'build_without_pretrained', 'conv_macs', 'randomise_batch_norms',
           'timm_block_outputs', 'train_and_predict']
