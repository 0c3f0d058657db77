import json
import os
from pathlib import Path

import numpy as np
import pytest

from ghostdet.datasets.trees import (TREE_IMAGES, build_tree_dataset, clip_boxes, deepforest_data_dir,
                                     missing_tree_files, read_voc_boxes, split_regions, tile_starts, tile_windows)

REPO = Path(__file__).resolve().parents[2]


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


def _rule(boxes: np.ndarray, window) -> tuple:
    """The visibility rule written out independently: (indices kept as objects, indices kept as ignore regions)."""
    x0, y0, x1, y1 = window
    kept, ignored = [], []
    for i, (bx1, by1, bx2, by2) in enumerate(boxes):
        w, h = min(bx2, x1) - max(bx1, x0), min(by2, y1) - max(by1, y0)
        if w <= 0 or h <= 0:
            continue
        visible = w * h / ((bx2 - bx1) * (by2 - by1))
        (kept if visible >= 0.5 and w >= 2 and h >= 2 else ignored).append(i)
    return kept, ignored


def _source_indices(coco: dict, voc: dict) -> dict:
    """Map every annotation to the VOC box (index) whose clip to the image's window is that annotation's box."""
    found = {}
    for ann in coco['annotations']:
        img = coco['images'][ann['image_id'] - 1]
        x0, y0, x1, y1 = img['window']
        boxes = voc[img['source']]
        clipped = np.stack([boxes[:, 0].clip(x0, x1), boxes[:, 1].clip(y0, y1), boxes[:, 2].clip(x0, x1),
                            boxes[:, 3].clip(y0, y1)], 1) - [x0, y0, x0, y0]
        x, y, w, h = ann['bbox']
        match = np.flatnonzero(np.abs(clipped - [x, y, x + w, y + h]).max(1) <= 0.011)
        assert len(match) >= 1, ann
        found.setdefault((img['source'], ann['iscrowd']), set()).update(int(i) for i in match)
    return found


def test_val_full_is_each_whole_held_out_region(trees):
    """One image per source: its val region's pixels, the VOC boxes clipped at the cut by the visibility rule, and
    the same trees (objects or ignore regions) as the val tiles."""
    import cv2
    out, stats = trees
    full = json.loads((out / 'annotations' / 'val_full.json').read_text())
    tiles = json.loads((out / 'annotations' / 'val.json').read_text())
    voc = {stem: read_voc_boxes(str(deepforest_data_dir() / f'{stem}.xml')) for stem in TREE_IMAGES}
    assert [img['source'] for img in full['images']] == list(TREE_IMAGES)
    assert stats['val_full']['images'] == len(TREE_IMAGES)
    for img in full['images']:
        source = cv2.imread(str(deepforest_data_dir() / f"{img['source']}.png"))
        height, width = source.shape[:2]
        cut = int(round(height * 0.75))
        assert img['window'] == [0, cut, width, height] and (img['width'], img['height']) == (width, height - cut)
        region = cv2.imread(str(out / 'val_full' / img['file_name']))
        assert np.array_equal(region, source[cut:])
        for tile in (t for t in tiles['images'] if t['source'] == img['source']):
            x0, y0, x1, y1 = tile['window']
            assert np.array_equal(cv2.imread(str(out / 'val' / tile['file_name'])), region[y0 - cut:y1 - cut, x0:x1])
    full_found, tile_found = _source_indices(full, voc), _source_indices(tiles, voc)
    for img in full['images']:
        stem = img['source']
        kept, ignored = _rule(voc[stem], img['window'])
        assert full_found.get((stem, 0), set()) == set(kept)
        assert full_found.get((stem, 1), set()) == set(ignored)
        assert tile_found.get((stem, 0), set()) | tile_found.get((stem, 1), set()) == set(kept) | set(ignored)
        assert tile_found.get((stem, 0), set()) >= set(kept) - tile_found.get((stem, 1), set())
    assert stats['val_full']['objects'] == sum(len(_rule(voc[s], i['window'])[0])
                                               for s, i in zip(TREE_IMAGES, full['images']))


def test_rerun_keeps_identical_files_and_refuses_different_ones(trees, tmp_path):
    out, _ = trees
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*') if p.is_file()}
    build_tree_dataset(str(out))  # same content: nothing rewritten, no --force needed
    assert {p: p.stat().st_mtime_ns for p in out.rglob('*') if p.is_file()} == before

    other = tmp_path / 'other'
    (other / 'annotations').mkdir(parents=True)
    mine = other / 'annotations' / 'train.json'
    mine.write_text('{"images": [], "annotations": [], "categories": []}')
    with pytest.raises(FileExistsError, match=r'train\.json.*--force'):
        build_tree_dataset(str(other))
    assert mine.read_text() == '{"images": [], "annotations": [], "categories": []}'
    assert not (other / 'train').exists() or not any((other / 'train').iterdir())  # refused before any image
    build_tree_dataset(str(other), force=True)
    assert json.loads(mine.read_text()) == json.loads((out / 'annotations' / 'train.json').read_text())


def test_different_image_is_not_overwritten(trees, tmp_path):
    import shutil

    import cv2
    out, _ = trees
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    victim = next((copy / 'val').glob('*.png'))
    cv2.imwrite(str(victim), np.zeros((8, 8, 3), np.uint8))
    mine = victim.read_bytes()
    with pytest.raises(FileExistsError, match=victim.name):
        build_tree_dataset(str(copy))
    assert victim.read_bytes() == mine


def test_failed_image_write_fails_loudly_and_writes_no_annotations(tmp_path, monkeypatch):
    """An image that cannot be written (here: the write raises as on a read-only folder) stops the conversion with
    the file's name; the annotation files, written last, do not claim a dataset that is not there."""
    import builtins
    real_open = builtins.open

    def failing_open(path, mode='r', *args, **kwargs):
        if 'w' in mode and str(path).endswith('.png.part'):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', failing_open)
    with pytest.raises(OSError, match=r'could not write .*\.png'):
        build_tree_dataset(str(tmp_path / 'trees'))
    monkeypatch.undo()
    assert not (tmp_path / 'trees' / 'annotations' / 'train.json').exists()
    assert missing_tree_files(str(tmp_path / 'trees'))


@pytest.mark.skipif(os.geteuid() == 0, reason='root can write into a read-only folder')
def test_read_only_image_folder_is_refused_before_any_work(tmp_path):
    (tmp_path / 'trees' / 'train').mkdir(parents=True)
    (tmp_path / 'trees' / 'train').chmod(0o555)
    with pytest.raises(PermissionError, match='cannot write into'):
        build_tree_dataset(str(tmp_path / 'trees'))
    assert not (tmp_path / 'trees' / 'annotations' / 'train.json').exists()


def test_skip_existing_checks_the_images_too(trees, tmp_path):
    """The CLI: --skip-existing does nothing for a complete dataset; with an image missing it restores it (same
    content, no --force); over a different annotation file it fails with a message naming --force."""
    import shutil
    import subprocess
    import sys
    out, _ = trees
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    assert missing_tree_files(str(copy)) == []
    lost = next((copy / 'train').glob('*.png'))
    lost.unlink()
    assert missing_tree_files(str(copy)) == [str(lost)]
    tool = [sys.executable, str(REPO / 'tools' / 'dataset_converters' / 'deepforest_to_coco.py'), str(copy)]
    done = subprocess.run(tool + ['--skip-existing'], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert lost.is_file() and missing_tree_files(str(copy)) == []
    (copy / 'annotations' / 'val.json').write_text('{}')
    failed = subprocess.run(tool + ['--skip-existing'], capture_output=True, text=True)
    assert failed.returncode != 0 and '--force' in failed.stderr and 'val.json' in failed.stderr
    assert (copy / 'annotations' / 'val.json').read_text() == '{}'
