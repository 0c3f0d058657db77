import json

import numpy as np
import pytest

from ghostdet.datasets.trees import (TREE_IMAGES, build_tree_dataset, clip_boxes, deepforest_data_dir,
                                     read_voc_boxes, split_regions, tile_starts, tile_windows)


def test_tile_starts_cover_with_overlap():
    assert tile_starts(100, 200, 50) == [0]
    assert tile_starts(1000, 400, 100) == [0, 300, 600]
    starts = tile_starts(1050, 400, 100)
    assert starts == [0, 300, 600, 650]  # the last tile is shifted back inside
    with pytest.raises(ValueError, match='overlap'):
        tile_starts(1000, 400, 400)


def test_visibility_rule():
    boxes = np.array([[10, 10, 30, 30],     # fully inside
                      [90, 10, 110, 30],    # half inside -> kept, clipped
                      [95, 40, 115, 60],    # a quarter inside -> ignore region
                      [200, 200, 210, 210],  # outside -> dropped
                      [99, 70, 140, 90]])   # 1 px wide sliver -> ignore region
    kept, ignored = clip_boxes(boxes.astype(float), (0, 0, 100, 100), min_visibility=0.5)
    np.testing.assert_allclose(kept, [[10, 10, 30, 30], [90, 10, 100, 30]])
    np.testing.assert_allclose(ignored, [[95, 40, 100, 60], [99, 70, 100, 90]])


@pytest.fixture(scope='module')
def trees(tmp_path_factory):
    out = tmp_path_factory.mktemp('trees')
    return out, build_tree_dataset(str(out))


def test_real_tree_data_is_shipped():
    counts = {stem: len(read_voc_boxes(str(deepforest_data_dir() / f'{stem}.xml'))) for stem in TREE_IMAGES}
    assert counts == {TREE_IMAGES[0]: 574, TREE_IMAGES[1]: 279, 'OSBS_029': 61, 'SOAP_061': 37}


def test_spatial_split_never_crosses_the_cut(trees):
    out, stats = trees
    import cv2
    for split in ('train', 'val'):
        coco = json.loads((out / 'annotations' / f'{split}.json').read_text())
        assert {img['source'] for img in coco['images']} == set(TREE_IMAGES)  # every site in both splits
        for img in coco['images']:
            source = cv2.imread(str(deepforest_data_dir() / f"{img['source']}.png"))
            region = split_regions(source.shape[1], source.shape[0], 0.25)[split]
            x0, y0, x1, y1 = img['window']
            assert region[0] <= x0 < x1 <= region[2] and region[1] <= y0 < y1 <= region[3]
            tile = cv2.imread(str(out / split / img['file_name']))
            assert np.array_equal(tile, source[y0:y1, x0:x1])
        for ann in coco['annotations']:
            img = coco['images'][ann['image_id'] - 1]
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and x + w <= img['width'] + 1e-6 and y + h <= img['height'] + 1e-6
    assert stats['train']['objects'] > 3 * stats['val']['objects'] > 0
    assert stats['val']['small'] > 0


def test_every_tree_is_annotated_somewhere(trees):
    """Each original box is an object (or an ignore region) in at least one tile."""
    out, _ = trees
    seen = {stem: [] for stem in TREE_IMAGES}
    for split in ('train', 'val'):
        coco = json.loads((out / 'annotations' / f'{split}.json').read_text())
        for ann in coco['annotations']:
            img = coco['images'][ann['image_id'] - 1]
            x, y, w, h = ann['bbox']
            seen[img['source']].append([x + img['window'][0], y + img['window'][1], w, h])
    for stem, boxes in seen.items():
        original = read_voc_boxes(str(deepforest_data_dir() / f'{stem}.xml'))
        boxes = np.array(boxes)
        for x1, y1, x2, y2 in original:
            overlap = ((np.minimum(boxes[:, 0] + boxes[:, 2], x2) - np.maximum(boxes[:, 0], x1)).clip(0)
                       * (np.minimum(boxes[:, 1] + boxes[:, 3], y2) - np.maximum(boxes[:, 1], y1)).clip(0))
            assert overlap.max() > 0, (stem, x1, y1, x2, y2)
