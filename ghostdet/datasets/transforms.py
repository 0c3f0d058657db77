import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes


@TRANSFORMS.register_module()
class RandomRotate90(BaseTransform):
    """Rotate the image and its boxes by a random multiple of 90 degrees (exact: boxes stay tight).

    Aerial and microscopy images have no canonical "up"; with flips this covers all 8 symmetries of the
    square. Handles ``img`` and horizontal ``gt_bboxes`` (masks are not supported).

    Args:
        prob (float): Probability of rotating at all; the angle is then 90, 180 or 270 degrees uniformly.
    """

    def __init__(self, prob: float = 0.75):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if 'gt_masks' in results:
            raise NotImplementedError('RandomRotate90 does not rotate instance masks; remove it for mask tasks')
        if np.random.rand() >= self.prob:
            return results
        turns = int(np.random.randint(1, 4))
        height, width = results['img'].shape[:2]
        results['img'] = np.ascontiguousarray(np.rot90(results['img'], turns))
        results['img_shape'] = results['img'].shape[:2]
        if results.get('gt_bboxes') is not None:
            boxes = results['gt_bboxes'].tensor
            for _ in range(turns):  # counter-clockwise quarter turn: (x, y) -> (y, W - x)
                boxes = torch.stack([boxes[:, 1], width - boxes[:, 2], boxes[:, 3], width - boxes[:, 0]], dim=1)
                height, width = width, height
            results['gt_bboxes'] = HorizontalBoxes(boxes)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'
