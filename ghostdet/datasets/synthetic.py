"""Deterministic synthetic COCO-format detection data for tests and size-controlled experiments.

Images have textured backgrounds (smooth colour gradients plus noise and random stripes); objects of a
few visually distinct classes are drawn at sizes spread log-uniformly from very tiny (< 8 px) to large,
several per image, overlapping sometimes. Boxes are exact: each shape fills its box edge to edge.
"""
from typing import Dict, Tuple

import numpy as np

from .output import DatasetWriter

SYNTHETIC_CLASSES = ('square', 'disc', 'triangle', 'ring')
_COLOURS = np.array([[230, 40, 40], [40, 200, 60], [50, 80, 240], [240, 220, 40]], dtype=np.float32)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    corners = rng.uniform(40, 200, size=(2, 2, 3)).astype(np.float32)
    fy, fx = (yy / max(height - 1, 1))[..., None], (xx / max(width - 1, 1))[..., None]
    image = ((1 - fy) * ((1 - fx) * corners[0, 0] + fx * corners[0, 1])
             + fy * ((1 - fx) * corners[1, 0] + fx * corners[1, 1]))
    period, phase = rng.uniform(6, 30), rng.uniform(0, 2 * np.pi)
    image += 12 * np.sin((xx * np.cos(phase) + yy * np.sin(phase)) / period * 2 * np.pi)[..., None]
    image += rng.normal(0, 10, size=image.shape).astype(np.float32)
    return image


def _shape_mask(kind: int, h: int, w: int) -> np.ndarray:
    """Boolean mask of a class-``kind`` shape that touches all four sides of its ``h x w`` box."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xx + 0.5) / w * 2 - 1, (yy + 0.5) / h * 2 - 1  # [-1, 1] across the box
    if kind == 0:
        mask = np.ones((h, w), dtype=bool)
    elif kind == 1:
        mask = u ** 2 + v ** 2 <= 1
    elif kind == 2:
        mask = np.abs(u) <= (v + 1) / 2
    else:
        radius = u ** 2 + v ** 2
        mask = (radius <= 1) & (radius >= 0.35)
    # pin the four extreme pixels so the shape spans its box exactly, whatever the rasterisation
    mask[h // 2, 0] = mask[h // 2, -1] = mask[0, w // 2] = mask[-1, w // 2] = True
    return mask


def generate_synthetic_coco(out_dir: str, num_images: int = 8, image_size: Tuple[int, int] = (128, 128),
                            objects_per_image: Tuple[int, int] = (3, 8), size_range: Tuple[float, float] = (4, 64),
                            num_classes: int = 3, seed: int = 0, split: str = 'train', force: bool = False) -> Dict:
    """Write ``out_dir/<split>/*.png`` and ``out_dir/annotations/<split>.json``; return the COCO dict.

    Existing files with different content are not replaced unless ``force`` (an error names them); identical
    ones are left alone; the JSON is written after all images (:mod:`ghostdet.datasets.output`).

    Args:
        out_dir (str): Output folder.
        num_images (int): Number of images.
        image_size (tuple): ``(height, width)``.
        objects_per_image (tuple): Inclusive range of objects per image.
        size_range (tuple): Object side range in px (log-uniform); clipped to the image.
        num_classes (int): How many of ``SYNTHETIC_CLASSES`` to use (1-4).
        seed (int): Everything is a function of the seed.
        split (str): Sub-folder / annotation file name.
        force (bool): Overwrite existing files whose content differs.
    """
    if not 1 <= num_classes <= len(SYNTHETIC_CLASSES):
        raise ValueError(f'num_classes must be in [1, {len(SYNTHETIC_CLASSES)}], got {num_classes}')
    rng = np.random.default_rng(seed)
    height, width = image_size
    writer = DatasetWriter(out_dir, force=force)
    writer.ensure_writable([split, 'annotations'])
    images, annotations = [], []
    lo, hi = np.log(size_range[0]), np.log(min(size_range[1], height, width))
    for image_id in range(1, num_images + 1):
        image = _background(rng, height, width)
        for _ in range(rng.integers(objects_per_image[0], objects_per_image[1] + 1)):
            kind = int(rng.integers(num_classes))
            side = np.exp(rng.uniform(lo, hi))
            aspect = np.exp(rng.uniform(-0.4, 0.4))
            h = int(np.clip(round(side * aspect), 2, height))
            w = int(np.clip(round(side / aspect), 2, width))
            y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            colour = _COLOURS[kind] * rng.uniform(0.8, 1.1) + rng.normal(0, 8, size=3)
            region = image[y:y + h, x:x + w]
            region[_shape_mask(kind, h, w)] = colour
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=kind + 1,
                                    bbox=[x, y, w, h], area=float(w * h), iscrowd=0))
        file_name = f'{image_id:06d}.png'
        writer.write(f'{split}/{file_name}', np.clip(image, 0, 255).astype(np.uint8))
        images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=n) for i, n in enumerate(SYNTHETIC_CLASSES[:num_classes])])
    writer.write(f'annotations/{split}.json', coco)
    return coco
