"""The synthetic COCO generator: shapes that span their boxes exactly, determinism, size spread, and its CLI."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ghostdet.datasets import generate_synthetic_coco
from ghostdet.datasets.synthetic import _shape_mask

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('kind', range(4))
@pytest.mark.parametrize('size', [(2, 2), (3, 7), (5, 4), (16, 16), (40, 23)])
def test_shapes_span_their_box_exactly(kind, size):
    mask = _shape_mask(kind, *size)
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (0, size[0] - 1, 0, size[1] - 1)


def test_deterministic_and_sizes_span_tiny_to_large(tmp_path):
    kwargs = dict(num_images=30, image_size=(160, 200), size_range=(3, 120), seed=7)
    a = generate_synthetic_coco(str(tmp_path / 'a'), **kwargs)
    b = generate_synthetic_coco(str(tmp_path / 'b'), **kwargs)
    c = generate_synthetic_coco(str(tmp_path / 'c'), **dict(kwargs, seed=8))
    assert a == b and a != c
    image = Path('train') / '000001.png'
    assert (tmp_path / 'a' / image).read_bytes() == (tmp_path / 'b' / image).read_bytes()
    sides = np.array([np.sqrt(ann['area']) for ann in a['annotations']])
    assert sides.min() < 8 and sides.max() > 64
    for ann in a['annotations']:
        x, y, w, h = ann['bbox']
        assert x >= 0 and y >= 0 and x + w <= 200 and y + h <= 160
    assert json.loads((tmp_path / 'a' / 'annotations' / 'train.json').read_text()) == a


def test_drawn_pixels_match_boxes(tmp_path):
    """Independent check of box exactness: an object is drawn in one flat colour over a noisy background, so
    the connected region of that exact colour around the box centre has exactly the annotated extent."""
    coco = generate_synthetic_coco(str(tmp_path), num_images=8, image_size=(96, 96), objects_per_image=(1, 1),
                                   size_range=(6, 40), num_classes=2, seed=3)
    for image, ann in zip(coco['images'], coco['annotations']):
        img = cv2.imread(str(tmp_path / 'train' / image['file_name'])).astype(int)
        x, y, w, h = ann['bbox']
        centre = img[y + h // 2, x + w // 2]
        same = np.all(img == centre, axis=2).astype(np.uint8)
        _, labels = cv2.connectedComponents(same, connectivity=8)
        rows, cols = np.nonzero(labels == labels[y + h // 2, x + w // 2])
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (x, y, x + w, y + h)


def test_cli_replaces_a_different_dataset_only_with_force(tmp_path):
    first = generate_synthetic_coco(str(tmp_path), num_images=1, image_size=(32, 32), seed=0)
    command = [sys.executable, str(REPO / 'tools/dataset_converters/make_synthetic_coco.py'), str(tmp_path),
               '--num-images', '1', '--size', '32', '32', '--seed', '1']
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 2 and 'Pass --force' in refused.stderr
    assert json.loads((tmp_path / 'annotations' / 'train.json').read_text()) == first
    forced = subprocess.run(command + ['--force'], capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert json.loads((tmp_path / 'annotations' / 'train.json').read_text()) != first
