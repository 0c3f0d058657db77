"""Sliced prediction over one image: windows -> batched detector calls -> image coordinates -> one merge.

The same :class:`SlicedPredictor` serves the inference CLI (``tools/infer.py``) and the test-time wrapper
(:class:`ghostdet.models.detectors.SlicedInference`), so a setting evaluated by ``tools/test.py`` is exactly the
setting the CLI runs.
"""
import warnings
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np

from .detector import Detector
from .merging import Detections, check_merge_options, merge_detections
from .slicing import SliceSize, check_overlap, parse_slice_size, slice_windows

# SAHI's LOW_MODEL_CONFIDENCE: below it, SAHI replaces a merge by NMS
LOW_CONFIDENCE = 0.1


@dataclass
class SliceOptions:
    """How an image is predicted; every value is checked on construction.

    Args:
        slice_size (int | (int, int), optional): Slice ``N`` or ``(H, W)``; ``None``: the whole image in one
            forward (the detector's own test pipeline decides the scale).
        overlap (float): Overlap of neighbouring slices, a fraction of the slice size in ``[0, 1)`` (SAHI's
            ``overlap_height_ratio`` = ``overlap_width_ratio``).
        full_image_pass (bool): Also predict the whole image once and merge it with the slices (SAHI's
            ``perform_standard_pred``; only when there is more than one slice, as in SAHI).
        merge (str): ``'nms'``, ``'nmm'`` or ``'greedy_nmm'`` (SAHI's NMS / NMM / GREEDYNMM).
        match_metric (str): ``'iou'`` or ``'ios'``.
        match_thr (float): Overlap at which two predictions match, in ``(0, 1]``.
        class_agnostic (bool): Merge across classes.
        score_thr (float): Predictions below this score are dropped before merging (SAHI's
            ``confidence_threshold``).
        batch_size (int): Slices per detector call.
    """
    slice_size: Optional[SliceSize] = None
    overlap: float = 0.2
    full_image_pass: bool = False
    merge: str = 'nms'
    match_metric: str = 'iou'
    match_thr: float = 0.5
    class_agnostic: bool = False
    score_thr: float = 0.3
    batch_size: int = 8

    def __post_init__(self):
        if self.slice_size is not None:
            self.slice_size = parse_slice_size(self.slice_size)
        self.overlap = check_overlap(self.overlap)
        check_merge_options(self.merge, self.match_metric, self.match_thr)
        if not 0 <= self.score_thr <= 1:
            raise ValueError(f'score threshold must be in [0, 1], got {self.score_thr}')
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f'batch size must be a positive integer, got {self.batch_size}')
        if self.merge != 'nms' and self.score_thr < LOW_CONFIDENCE:
            warnings.warn(f'merging ({self.merge}) predictions scoring below {LOW_CONFIDENCE} enlarges the merged '
                          'boxes with poor ones (SAHI switches to NMS there); use a higher score threshold or NMS')


def detections_in_image(sample, window: Sequence[int], score_thr: float) -> Detections:
    """A window's predictions (``DetDataSample``) in image coordinates: scores >= ``score_thr``, boxes clipped to
    the window, boxes without area dropped (as SAHI drops them), then shifted by the window's origin.

    (SAHI clips a slice's boxes by the *full* image's size before shifting them, so a box reaching past its slice
    stays and may even leave the image; mmdet's detectors clip to their input, where the two agree.)"""
    pred = sample.pred_instances
    scores = pred.scores.detach().cpu().numpy().astype(np.float32)
    keep = scores >= score_thr
    boxes = pred.bboxes.detach().cpu().numpy()[keep].astype(np.float64)
    x0, y0, x1, y1 = (int(v) for v in window)
    boxes = np.clip(boxes, 0, [x1 - x0, y1 - y0, x1 - x0, y1 - y0])
    valid = (boxes[:, 0] < boxes[:, 2]) & (boxes[:, 1] < boxes[:, 3])
    boxes = boxes[valid] + np.array([x0, y0, x0, y0], np.float64)
    labels = pred.labels.detach().cpu().numpy()[keep][valid].astype(np.int64)
    return Detections(boxes, scores[keep][valid], labels)


class SlicedPredictor:
    """Predict large images with a :class:`~ghostdet.inference.Detector`, slice by slice in batches.

    Args:
        detector (Detector): Any backend.
        options (SliceOptions): Slicing, merging and thresholds.
    """

    def __init__(self, detector: Detector, options: SliceOptions):
        self.detector = detector
        self.options = options

    def windows(self, height: int, width: int) -> np.ndarray:
        """The windows an image of this size is predicted in: its slices (the whole image when not slicing), then
        the whole image again for the full-image pass (only when there is more than one slice, as in SAHI)."""
        if self.options.slice_size is None:
            return np.array([[0, 0, width, height]], np.int64)
        windows = slice_windows(height, width, self.options.slice_size, self.options.overlap)
        if self.options.full_image_pass and len(windows) > 1:
            windows = np.concatenate([windows, [[0, 0, width, height]]])
        return windows

    def predict_windows(self, image: np.ndarray, windows: np.ndarray,
                        progress: Optional[Callable[[int], None]] = None) -> List[Detections]:
        """Each window's detections in image coordinates. Consecutive windows of one size go to the detector
        ``batch_size`` at a time."""
        sizes = windows[:, 2:] - windows[:, :2]
        per_window = []
        start = 0
        while start < len(windows):
            stop = start + 1
            while stop < min(len(windows), start + self.options.batch_size) and (sizes[stop] == sizes[start]).all():
                stop += 1
            batch = windows[start:stop]
            samples = self.detector.predict([image[y0:y1, x0:x1] for x0, y0, x1, y1 in batch])
            per_window += [detections_in_image(s, w, self.options.score_thr) for s, w in zip(samples, batch)]
            if progress is not None:
                progress(len(batch))
            start = stop
        return per_window

    def merge(self, parts: List[Detections]) -> Detections:
        """One merge over the union of all windows' detections (none when not slicing)."""
        dets = Detections.concatenate(parts)
        if self.options.slice_size is None:
            return dets.select(np.argsort(-dets.scores, kind='stable'))
        opts = self.options
        return merge_detections(dets, opts.merge, opts.match_metric, opts.match_thr, opts.class_agnostic)

    def predict(self, image: np.ndarray, progress: Optional[Callable[[int], None]] = None) -> Detections:
        """Detections of one ``H x W x 3`` BGR image in its own pixels, sorted by score."""
        return self.merge(self.predict_windows(image, self.windows(*image.shape[:2]), progress))
