"""RandomRotate90: boxes follow the pixels through every quarter turn; masks and bad probabilities are refused.
CropMixUp: the blended window is a native-scale window of the other image, its boxes follow the painted pixels."""
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from ghostdet.datasets import CropMixUp, RandomRotate90


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


def painted_sample(rng, height, width, boxes_per_image=3):
    """An image with each box painted 254 in its own channel (up to 3), and its annotations."""
    img = np.zeros((height, width, 3), dtype=np.uint8)
    boxes = []
    for channel in range(boxes_per_image):
        x1, y1 = rng.integers(0, width - 8), rng.integers(0, height - 8)
        x2, y2 = rng.integers(x1 + 2, min(x1 + 40, width) + 1), rng.integers(y1 + 2, min(y1 + 40, height) + 1)
        img[y1:y2, x1:x2, channel] = 254
        boxes.append([x1, y1, x2, y2])
    return dict(img=img, gt_bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
                gt_bboxes_labels=np.arange(boxes_per_image), gt_ignore_flags=np.array([False, True, False]))


@pytest.mark.parametrize('seed', range(8))
def test_crop_mixup_blends_a_native_scale_window_and_its_boxes(seed):
    rng = np.random.default_rng(seed)
    height, width = 24, 32
    other = painted_sample(rng, 70, 90)
    own_boxes = HorizontalBoxes(torch.tensor([[1.0, 2.0, 5.0, 9.0]]))
    sample = dict(img=np.zeros((height, width, 3), dtype=np.uint8), img_shape=(height, width), gt_bboxes=own_boxes,
                  gt_bboxes_labels=np.array([7]), gt_ignore_flags=np.array([False]), mix_results=[other])
    np.random.seed(seed)
    results = CropMixUp(prob=1.0).transform(sample)
    mixed = results['img']
    # the window: the one place in the other image, at its own scale, whose halves give the blended pixels
    places = [(top, left) for top in range(70 - height + 1) for left in range(90 - width + 1)
              if np.array_equal(mixed, (other['img'][top:top + height, left:left + width] * 0.5).astype(np.uint8))]
    assert places, 'the blend is not half of a native-scale window of the other image'
    assert results['gt_bboxes'].tensor[0].tolist() == [1.0, 2.0, 5.0, 9.0]  # the sample's own boxes first
    expected = []  # the other image's boxes: the painted pixels visible in the window (none: dropped)
    for channel in range(3):
        rows, cols = np.nonzero(mixed[..., channel])
        if rows.size:
            expected.append(([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], channel))
    assert results['gt_bboxes'].tensor[1:].tolist() == [box for box, _ in expected]
    assert results['gt_bboxes_labels'].tolist() == [7] + [channel for _, channel in expected]
    assert results['gt_ignore_flags'].tolist() == [False] + [bool(other['gt_ignore_flags'][c]) for _, c in expected]


def test_crop_mixup_pads_a_smaller_image_and_mixes_a_share_of_samples():
    rng = np.random.default_rng(0)
    small = painted_sample(rng, 10, 12)

    def sample():
        return dict(img=np.full((16, 16, 3), 200, dtype=np.uint8), gt_bboxes=HorizontalBoxes(torch.zeros(0, 4)),
                    gt_bboxes_labels=np.zeros(0, dtype=int), gt_ignore_flags=np.zeros(0, dtype=bool),
                    mix_results=[small])

    np.random.seed(0)
    padded = CropMixUp(prob=1.0, pad_val=100).transform(sample())['img']
    assert (padded[10:, :] == 150).all() and (padded[:, 12:] == 150).all()  # (200 + 100) / 2 outside the image
    assert CropMixUp(prob=0.0).transform(sample())['img'].tolist() == sample()['img'].tolist()
    mixed = sum(not (CropMixUp(prob=0.3).transform(sample())['img'] == 200).all() for _ in range(500))
    assert 120 <= mixed <= 180  # 150 expected
    with pytest.raises(ValueError, match='prob'):
        CropMixUp(prob=1.5)
