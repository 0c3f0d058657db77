"""Sliced (large-image) inference inside mmdet's test flow: ``tools/test.py`` evaluates any detector on full images.

Configured like mmdet's test-time-augmentation models, from the config alone::

    _base_ = ['./rtmdet-pafpn64_ghostnet-1.0x_trees.py']
    model = dict(_delete_=True, type='SlicedInference', detector=_base_.model, slice_size=256, overlap=0.2,
                 merge='nms', match_metric='iou', match_thr=0.5, score_thr=0.0,
                 slice_pipeline=[dict(type='PackDetInputs')])
    test_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'),
                                                  dict(type='LoadAnnotations', with_bbox=True),
                                                  dict(type='PackDetInputs')]))   # full images, no resize

Checkpoints of the plain detector load as they are (mmengine loads a ``BaseTTAModel``'s weights into its
``module``). The slicing, batching and merging are those of ``tools/infer.py``
(:class:`ghostdet.inference.SlicedPredictor`), with the same options.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.model import BaseTTAModel
from mmengine.structures import InstanceData

from ghostdet.inference.detector import ModelDetector, array_pipeline
from ghostdet.inference.merging import Detections
from ghostdet.inference.predictor import SlicedPredictor, SliceOptions


@MODELS.register_module()
class SlicedInference(BaseTTAModel):
    """Predict each (full) test image by slices in batches, merged as SAHI merges them.

    Args:
        detector (dict | nn.Module): The detector (its config, e.g. ``_base_.model``).
        slice_size (int | (int, int), optional): Slice ``N`` or ``(H, W)``; ``None``: the whole image in one
            forward through ``slice_pipeline`` (e.g. a ``Resize`` to a fixed test scale).
        overlap, full_image_pass, merge, match_metric, match_thr, class_agnostic, score_thr, batch_size: As
            :class:`ghostdet.inference.SliceOptions` and the ``tools/infer.py`` options of the same names.
            ``score_thr`` defaults to 0 here: evaluation wants every detection the detector keeps.
        slice_pipeline (Sequence[dict]): Transforms from a slice (an array) to ``PackDetInputs``; the detector's
            test pipeline without its loaders. Default: native resolution.
        data_preprocessor (dict, optional): As ``BaseTTAModel`` (replaces the detector's).
    """

    def __init__(self, detector: Union[dict, torch.nn.Module], slice_size: Optional[Union[int, Sequence[int]]] = None,
                 overlap: float = 0.2, full_image_pass: bool = False, merge: str = 'nms', match_metric: str = 'iou',
                 match_thr: float = 0.5, class_agnostic: bool = False, score_thr: float = 0.0, batch_size: int = 8,
                 slice_pipeline: Sequence[dict] = (dict(type='PackDetInputs'), ),
                 data_preprocessor: Optional[dict] = None):
        super().__init__(module=detector, data_preprocessor=data_preprocessor)
        self.options = SliceOptions(slice_size=slice_size, overlap=overlap, full_image_pass=full_image_pass,
                                    merge=merge, match_metric=match_metric, match_thr=match_thr,
                                    class_agnostic=class_agnostic, score_thr=score_thr, batch_size=batch_size)
        self.predictor = SlicedPredictor(ModelDetector(self.module, array_pipeline(slice_pipeline), ()),
                                         self.options)

    @torch.no_grad()
    def test_step(self, data: dict) -> List[DetDataSample]:
        """``data`` as the test dataloader gives it: full images (``C x H x W`` uint8 BGR tensors) and samples."""
        per_image = []
        for inputs, sample in zip(data['inputs'], data['data_samples']):
            image = np.ascontiguousarray(inputs.permute(1, 2, 0).cpu().numpy())
            windows = self.predictor.windows(*image.shape[:2])
            per_image.append([_sample(sample, dets, _to_original(sample))
                              for dets in self.predictor.predict_windows(image, windows)])
        return self.merge_preds(per_image)

    val_step = test_step

    def merge_preds(self, data_samples_list: List[List[DetDataSample]]) -> List[DetDataSample]:
        """Merge each image's window predictions (already in its coordinates) into one prediction per image."""
        merged = []
        for samples in data_samples_list:
            parts = [Detections(s.pred_instances.bboxes.numpy(), s.pred_instances.scores.numpy(),
                                s.pred_instances.labels.numpy()) for s in samples]
            merged.append(_sample(samples[0], self.predictor.merge(parts)))
        return merged


def _to_original(sample: DetDataSample) -> Tuple[float, float]:
    """x / y scale from the image the wrapper sees to the original image (1 unless the dataset resized it)."""
    (ori_h, ori_w), (img_h, img_w) = sample.ori_shape[:2], sample.img_shape[:2]
    return ori_w / img_w, ori_h / img_h


def _sample(template: DetDataSample, dets: Detections, scale: Tuple[float, float] = (1.0, 1.0)) -> DetDataSample:
    out = DetDataSample(metainfo=template.metainfo)
    for key in ('gt_instances', 'ignored_instances'):
        if key in template:
            out.set_field(template.get(key), key)
    out.pred_instances = InstanceData(
        bboxes=torch.from_numpy(dets.bboxes * np.array([*scale, *scale])),  # float64: merged as the CLI merges
        scores=torch.from_numpy(dets.scores), labels=torch.from_numpy(dets.labels))
    return out
