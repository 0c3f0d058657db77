import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes


def _checked_prob(prob: float) -> float:
    if not 0 <= prob <= 1:
        raise ValueError(f'prob must be in [0, 1], got {prob}')
    return prob


@TRANSFORMS.register_module()
class RandomRotate90(BaseTransform):
    """Rotate the image and its boxes by a random multiple of 90 degrees (exact: boxes stay tight).

    Aerial and microscopy images have no canonical "up"; with flips this covers all 8 symmetries of the
    square. Handles ``img`` and horizontal ``gt_bboxes`` (masks are not supported).

    Args:
        prob (float): Probability of rotating at all; the angle is then 90, 180 or 270 degrees uniformly.
    """

    def __init__(self, prob: float = 0.75):
        self.prob = _checked_prob(prob)

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


@TRANSFORMS.register_module()
class CropMixUp(BaseTransform):
    """MixUp for crop pipelines: with probability ``prob``, blend the sample 50/50 with a window of the same size at a
    random place in another training image, at that image's own scale, and keep the boxes of both.

    mmdet's ``MixUp`` (YOLOX's) resizes the whole other image to fit its ``img_scale`` and blends every sample: in a
    pipeline of 256-px crops from 640-px tiles that shrinks the other image's objects 2.5x, to sizes the test images
    never have, and no sample is ever seen unblended. Here objects keep their size and ``1 - prob`` of the samples
    stay as they are. Use it inside ``MultiImageMixDataset``, which loads the other image (:meth:`get_indexes`) with
    the wrapped dataset's own pipeline (``LoadImageFromFile`` + ``LoadAnnotations``).

    Boxes of the other image are moved into the window and clipped to it; those left with no area are dropped (as
    mmdet's ``RandomCrop`` treats the sample's own boxes). Where the other image is smaller than the sample it is
    padded with ``pad_val`` first.

    Args:
        prob (float): Share of samples mixed.
        pad_val (float): Fill of an other image smaller than the sample.
    """

    def __init__(self, prob: float = 0.5, pad_val: float = 114.0):
        self.prob, self.pad_val = _checked_prob(prob), pad_val

    def get_indexes(self, dataset) -> int:
        return int(np.random.randint(len(dataset)))

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        other = results['mix_results'][0]
        height, width = results['img'].shape[:2]
        image = other['img']
        if image.shape[0] < height or image.shape[1] < width:
            padded = np.full((max(height, image.shape[0]), max(width, image.shape[1]), 3), self.pad_val,
                             dtype=image.dtype)
            padded[:image.shape[0], :image.shape[1]] = image
            image = padded
        top = int(np.random.randint(image.shape[0] - height + 1))
        left = int(np.random.randint(image.shape[1] - width + 1))
        window = image[top:top + height, left:left + width]
        results['img'] = (0.5 * results['img'].astype(np.float32) + 0.5 * window.astype(np.float32)).astype(np.uint8)

        boxes = other['gt_bboxes'].clone()
        boxes.translate_([-left, -top])
        boxes.clip_([height, width])
        keep = ((boxes.widths > 0) & (boxes.heights > 0)).numpy()
        results['gt_bboxes'] = results['gt_bboxes'].cat([results['gt_bboxes'], boxes[keep]])
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            results[key] = np.concatenate([results[key], other[key][keep]])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, pad_val={self.pad_val})'
