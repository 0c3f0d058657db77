"""RandomRotate90: boxes follow the pixels through every quarter turn; masks and bad probabilities are refused."""
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from ghostdet.datasets import RandomRotate90


@pytest.mark.parametrize('seed', range(6))
def test_rotated_boxes_match_rotated_pixels(seed):
    """Paint each box into its own channel, rotate with the transform, and compare the transformed boxes with
    the extents of the rotated paint (np.rot90 is the independent reference)."""
    rng = np.random.default_rng(seed)
    height, width = 37, 53
    boxes = []
    img = np.zeros((height, width, 3), dtype=np.uint8)
    for channel in range(3):
        x1, y1 = rng.integers(0, width - 5), rng.integers(0, height - 5)
        x2, y2 = rng.integers(x1 + 1, width + 1), rng.integers(y1 + 1, height + 1)
        img[y1:y2, x1:x2, channel] = 255
        boxes.append([x1, y1, x2, y2])
    np.random.seed(seed)
    results = RandomRotate90(prob=1.0).transform(
        dict(img=img.copy(), img_shape=(height, width),
             gt_bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32))))
    rotated = results['img']
    assert results['img_shape'] == rotated.shape[:2]
    assert any(np.array_equal(rotated, np.rot90(img, k)) for k in (1, 2, 3))
    for channel, box in enumerate(results['gt_bboxes'].tensor.tolist()):
        rows, cols = np.nonzero(rotated[..., channel])
        assert box == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def test_rejects_masks_and_bad_prob():
    with pytest.raises(ValueError):
        RandomRotate90(prob=2)
    with pytest.raises(NotImplementedError, match='masks'):
        RandomRotate90(prob=1).transform(dict(img=np.zeros((4, 4, 3)), gt_masks=object()))
