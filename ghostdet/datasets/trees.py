"""Real default data: NEON aerial RGB images with tree-crown boxes, shipped in the ``deepforest`` wheel.

The package (MIT) is installed with ``--no-deps`` only to get its ``data/`` files; it is never imported.
:func:`build_tree_dataset` turns the four annotated images into a COCO-format tiled dataset:

* **Spatial split.** Each image is cut once, horizontally: the top ``1 - val_fraction`` of its rows is
  train, the bottom ``val_fraction`` is val. Every site is seen in training; no val pixel is. Tiles never
  cross the cut, and boxes are clipped at it like at any tile border.
* **Tiles** of at most ``tile_size`` pixels cover each region; neighbouring tiles overlap by ``overlap``
  pixels (the last row/column of tiles is shifted back inside the region, so it may overlap more).
* **Visibility rule** for a box cut by a tile border or by the split: the clipped box is kept as a
  normal object if at least ``min_visibility`` of its area lies inside the tile and both clipped sides
  are at least 2 px; a box less visible than that becomes an *ignore* region (``iscrowd=1``), so the
  fragment is neither a training target nor an evaluation false positive.
* **Whole held-out regions** (``val_full``): each image's val region as one image, its boxes clipped at the cut
  by the same rule, for evaluating large-image (sliced) inference on the pixels the val tiles cover.
"""
import importlib.util
import os.path as osp
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..version import pinned_version
from .output import DatasetWriter, missing_images

TREE_IMAGES = (
    '2019_YELL_2_528000_4978000_image_crop2',  # 2299 x 2472, 574 trees
    '2019_YELL_2_541000_4977000_image_crop',   # 1249 x 1035, 279 trees
    'OSBS_029',                                # 400 x 400, 61 trees
    'SOAP_061',                                # 400 x 400, 37 trees (labelled Alive/Dead)
)
CATEGORIES = [dict(id=1, name='tree')]
# The main job on this data (`make demo`, whose Makefile names the same config and folder; a test checks): the tools
# that default to "the tree detector" read these, relative to the repository.
MAIN_JOB_CONFIG = 'configs/trees/rtmdet-pafpn64_shufflenetv1-g3-1.0x_trees.py'
MAIN_JOB_WORK_DIR = 'work_dirs/trees_demo'
Window = Tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


def deepforest_data_dir() -> Path:
    """The ``data/`` folder of the installed ``deepforest`` package (located without importing it)."""
    spec = importlib.util.find_spec('deepforest')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'the deepforest package is not installed; install its files with '
            f'`pip install --no-deps deepforest=={pinned_version("deepforest")}` (or run tools/setup_env.sh)')
    return Path(list(spec.submodule_search_locations)[0]) / 'data'


def read_voc_boxes(xml_path: str) -> np.ndarray:
    """``(N, 4)`` float array of ``x1, y1, x2, y2`` boxes from a Pascal-VOC annotation file."""
    root = ET.parse(xml_path).getroot()
    boxes = [[float(obj.find(f'bndbox/{k}').text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
             for obj in root.iter('object')]
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0 or np.any(boxes[:, 2:] <= boxes[:, :2]):
        raise ValueError(f'{xml_path}: no objects or degenerate boxes')
    return boxes


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of windows of size ``min(tile, length)`` covering ``[0, length)``."""
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f'overlap must be in [0, tile_size), got {overlap} for tile_size {tile}')
    starts = list(range(0, length - tile, tile - overlap))
    return starts + [length - tile]


def tile_windows(region: Window, tile: int, overlap: int) -> List[Window]:
    x0, y0, x1, y1 = region
    tw, th = min(tile, x1 - x0), min(tile, y1 - y0)
    return [(x0 + dx, y0 + dy, x0 + dx + tw, y0 + dy + th)
            for dy in tile_starts(y1 - y0, tile, overlap) for dx in tile_starts(x1 - x0, tile, overlap)]


def clip_boxes(boxes: np.ndarray, window: Window, min_visibility: float) -> Tuple[np.ndarray, np.ndarray]:
    """Boxes clipped to ``window`` in window coordinates: ``(kept, ignored)`` per the visibility rule."""
    x0, y0, x1, y1 = window
    clipped = np.stack([np.clip(boxes[:, 0], x0, x1), np.clip(boxes[:, 1], y0, y1),
                        np.clip(boxes[:, 2], x0, x1), np.clip(boxes[:, 3], y0, y1)], axis=1)
    sides = clipped[:, 2:] - clipped[:, :2]
    inside = np.all(sides > 0, axis=1)
    visibility = np.prod(sides.clip(min=0), axis=1) / np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    keep = inside & (visibility >= min_visibility) & np.all(sides >= 2, axis=1)
    offset = np.array([x0, y0, x0, y0], dtype=np.float64)
    return clipped[keep] - offset, clipped[inside & ~keep] - offset


def split_regions(width: int, height: int, val_fraction: float) -> Dict[str, Window]:
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    cut = int(round(height * (1 - val_fraction)))
    return dict(train=(0, 0, width, cut), val=(0, cut, width, height))


SPLITS = ('train', 'val', 'val_full')


def _coco_entries(coco: dict, window: Window, stem: str, kept: np.ndarray, ignored: np.ndarray) -> str:
    """Append one image (``stem``'s ``window``) and its boxes to ``coco``; return its file name."""
    x0, y0, x1, y1 = window
    file_name = f'{stem}_{x0}_{y0}.png'
    images_list, anns = coco['images'], coco['annotations']
    image_id = len(images_list) + 1
    images_list.append(dict(id=image_id, file_name=file_name, width=x1 - x0, height=y1 - y0,
                            source=stem, window=list(window)))
    for box, crowd in [(b, 0) for b in kept] + [(b, 1) for b in ignored]:
        w, h = box[2] - box[0], box[3] - box[1]
        anns.append(dict(id=len(anns) + 1, image_id=image_id, category_id=1,
                         bbox=[round(float(v), 2) for v in (box[0], box[1], w, h)],
                         area=round(float(w * h), 2), iscrowd=crowd))
    return file_name


def build_tree_dataset(out_dir: str, tile_size: int = 640, train_overlap: int = 160, val_overlap: int = 0,
                       val_fraction: float = 0.25, min_visibility: float = 0.5,
                       source_dir: Optional[str] = None, images: Sequence[str] = TREE_IMAGES,
                       force: bool = False) -> Dict[str, dict]:
    """Write the tiles ``out_dir/{train,val}/*.png``, the whole held-out regions ``out_dir/val_full/*.png`` and
    ``out_dir/annotations/{train,val,val_full}.json``; return statistics.

    ``val_full`` has one image per source image: its whole val region, with the boxes clipped at the split cut by
    the same visibility rule as the tiles (for evaluating large-image inference on what the val tiles cover).
    Existing files are never replaced by different content unless ``force`` (see
    :mod:`ghostdet.datasets.output`); the annotation files are written after all images.

    Args:
        out_dir (str): Output folder (e.g. ``data/trees``).
        tile_size (int): Maximum tile side in pixels.
        train_overlap / val_overlap (int): Overlap between neighbouring tiles of each split.
        val_fraction (float): Fraction of each image's rows (at the bottom) held out for validation.
        min_visibility (float): Minimum visible area fraction for a cut box to stay an object.
        source_dir (str, optional): Folder with the ``.png``/``.xml`` pairs; default: deepforest's data.
        images (Sequence[str]): Image stems to use.
        force (bool): Overwrite existing files whose content differs.
    """
    import cv2
    source = Path(source_dir) if source_dir else deepforest_data_dir()
    overlaps = dict(train=train_overlap, val=val_overlap)
    coco = {split: dict(images=[], annotations=[], categories=CATEGORIES) for split in SPLITS}
    planned = []  # (relative path, image) in writing order
    for stem in images:
        image = cv2.imread(str(source / f'{stem}.png'), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'cannot read {source / (stem + ".png")}')
        boxes = read_voc_boxes(str(source / f'{stem}.xml'))
        height, width = image.shape[:2]
        regions = split_regions(width, height, val_fraction)
        for split, region in regions.items():
            for window in tile_windows(region, tile_size, overlaps[split]):
                file_name = _coco_entries(coco[split], window, stem, *clip_boxes(boxes, window, min_visibility))
                planned.append((f'{split}/{file_name}', image[window[1]:window[3], window[0]:window[2]]))
        region = regions['val']
        file_name = _coco_entries(coco['val_full'], region, stem, *clip_boxes(boxes, region, min_visibility))
        planned.append((f'val_full/{file_name}', image[region[1]:region[3], region[0]:region[2]]))
    annotations = [(f'annotations/{split}.json', data) for split, data in coco.items()]
    writer = DatasetWriter(out_dir, force=force)
    writer.check(annotations + planned)
    for rel, content in planned + annotations:
        writer.write(rel, content)
    stats = {}
    for split, data in coco.items():
        objects = [a for a in data['annotations'] if not a['iscrowd']]
        stats[split] = dict(images=len(data['images']), objects=len(objects),
                            ignored=len(data['annotations']) - len(objects),
                            small=sum(a['area'] < 32 ** 2 for a in objects))
    return stats


def missing_tree_files(out_dir: str) -> List[str]:
    """What a complete tree dataset in ``out_dir`` lacks: annotation files, and images they name."""
    return [path for split in SPLITS
            for path in missing_images(osp.join(out_dir, 'annotations', f'{split}.json'), osp.join(out_dir, split))]


def tree_dataset_ready(out_dir: str) -> bool:
    """Whether ``out_dir`` holds every annotation file and every image they name."""
    return not missing_tree_files(out_dir)
