"""Slicing windows over a large image, equal to ``sahi.slicing.get_slice_bboxes`` for the same sizes and ratios."""
from typing import List, Sequence, Tuple, Union

import numpy as np

SliceSize = Union[int, Sequence[int]]


def parse_slice_size(size: SliceSize) -> Tuple[int, int]:
    """``N`` or ``(H, W)`` -> ``(H, W)``; both positive integers."""
    hw = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in hw):
        raise ValueError(f'slice size must be one integer or (height, width), got {size!r}')
    if min(hw) <= 0:
        raise ValueError(f'slice size must be positive, got {size!r}')
    return int(hw[0]), int(hw[1])


def check_overlap(overlap: float) -> float:
    if not 0 <= overlap < 1:
        raise ValueError(f'overlap must be in [0, 1) (a fraction of the slice size), got {overlap}')
    return float(overlap)


def _starts(length: int, window: int, overlap: float) -> List[int]:
    """SAHI's window starts along one axis: a step of ``window - int(overlap * window)``; the last window is
    moved back inside the image; a window longer than the image starts at 0 and is cut to the image."""
    step = window - int(overlap * window)
    starts = list(range(0, max(length - window, 0), step))
    return starts + [max(length - window, 0)]


def slice_windows(height: int, width: int, slice_size: SliceSize, overlap: float = 0.2) -> np.ndarray:
    """``(N, 4)`` int64 windows ``x0, y0, x1, y1`` (exclusive ends) covering the image, row by row.

    Equal to ``sahi.slicing.get_slice_bboxes(height, width, slice_h, slice_w, overlap_height_ratio=overlap,
    overlap_width_ratio=overlap)``. A slice larger than the image becomes one window cut to the image.

    Args:
        height, width (int): Image size.
        slice_size (int | (int, int)): Slice ``N`` or ``(H, W)`` in pixels.
        overlap (float): Overlap of neighbouring slices as a fraction of the slice size, in ``[0, 1)``.
    """
    slice_h, slice_w = parse_slice_size(slice_size)
    check_overlap(overlap)
    if height <= 0 or width <= 0:
        raise ValueError(f'empty image ({height} x {width})')
    ys, xs = _starts(height, slice_h, overlap), _starts(width, slice_w, overlap)
    y0, x0 = np.meshgrid(np.asarray(ys, np.int64), np.asarray(xs, np.int64), indexing='ij')
    x0, y0 = x0.ravel(), y0.ravel()
    return np.stack([x0, y0, np.minimum(x0 + slice_w, width), np.minimum(y0 + slice_h, height)], axis=1)
