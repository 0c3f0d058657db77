"""Finding input images (files, folders, globs) and reading them as one BGR array each.

A decoded image is the only full-size copy inference holds: slices are views into it, and only a batch of slices
is ever copied (into the model's input). A 10,000 x 10,000 RGB image is 300 MB decoded.
"""
import glob
import os
import os.path as osp
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff')
# OpenCV refuses to decode images above this many pixels unless OPENCV_IO_MAX_IMAGE_PIXELS is raised.
OPENCV_MAX_PIXELS = int(os.environ.get('OPENCV_IO_MAX_IMAGE_PIXELS', 1 << 30))


class ImageReadError(RuntimeError):
    """An input file that is not a readable image."""


@dataclass(frozen=True)
class InputImage:
    """An image to predict: its ``path`` and its ``name`` in the outputs (relative to the folder or glob it
    was found through; the file name for a file given directly)."""
    path: str
    name: str


def _glob_root(pattern: str) -> str:
    """The folder a glob pattern is anchored at (its leading components without wildcards)."""
    parts = Path(pattern).parts
    static = parts[:next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))]
    return str(Path(*static)) if static else '.'


def collect_inputs(sources: Sequence[str]) -> List[InputImage]:
    """Images named by files, folders (searched recursively for PNG / JPEG / TIFF) and glob patterns.

    Raises:
        FileNotFoundError: A source matches nothing.
        ValueError: Two different files would get the same output name.
    """
    found: List[InputImage] = []
    for source in sources:
        if osp.isdir(source):
            paths = [str(p) for p in sorted(Path(source).rglob('*'))
                     if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
            root = source
        elif osp.isfile(source):
            paths, root = [source], osp.dirname(source)
        else:
            paths = sorted(p for p in glob.glob(source, recursive=True) if osp.isfile(p))
            root = _glob_root(source)
        if not paths:
            raise FileNotFoundError(f'no image found for input {source!r} (a file, a folder with '
                                    f'{"/".join(IMAGE_EXTENSIONS)} files, or a glob pattern)')
        found += [InputImage(p, Path(osp.relpath(p, root or '.')).as_posix()) for p in paths]
    unique, by_name = [], {}
    for image in found:
        other = by_name.setdefault(image.name, image)
        if other is image:
            unique.append(image)
        elif osp.realpath(other.path) != osp.realpath(image.path):
            raise ValueError(f'{other.path} and {image.path} would both be written as {image.name!r}; '
                             'give them in separate runs (or separate output folders)')
    return unique


def image_size(path: str) -> Optional[Tuple[int, int]]:
    """``(height, width)`` from the file header without decoding the pixels; ``None`` if the header is unreadable.
    (EXIF rotation is not applied: this is for planning, the decoded array is what counts.)"""
    from PIL import Image
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # a header is no decompression bomb
    try:
        with Image.open(path) as image:
            width, height = image.size
        return height, width
    except Exception:  # any unreadable header: the decoder reports it properly later
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_image(path: str) -> np.ndarray:
    """Decode an image file to one ``H x W x 3`` uint8 BGR array (EXIF orientation applied, as OpenCV does;
    grey, 16-bit and alpha images converted).

    Raises:
        ImageReadError: The file is missing, not an image, truncated or too large for the decoder.
    """
    if not osp.isfile(path):
        raise ImageReadError(f'{path}: no such file')
    size = image_size(path)
    if size is not None and size[0] * size[1] > OPENCV_MAX_PIXELS:
        raise ImageReadError(f'{path}: {size[1]} x {size[0]} pixels is above OpenCV\'s decoding limit '
                             f'({OPENCV_MAX_PIXELS}); raise it with the environment variable '
                             'OPENCV_IO_MAX_IMAGE_PIXELS')
    if osp.splitext(path)[1].lower() in ('.jpg', '.jpeg') and not _jpeg_complete(path):
        raise ImageReadError(f'{path}: truncated JPEG (no end-of-image marker)')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f'{path}: cannot be decoded as an image (corrupt, truncated or not an image)')
    return image


def _jpeg_complete(path: str, tail: int = 4096) -> bool:
    """Whether a JPEG file has its end-of-image marker near its end (OpenCV decodes a truncated JPEG without an
    error, filling the missing rows with grey). A few KiB of trailing bytes after the marker (some cameras add
    them) are allowed; compressed data never contains the marker's bytes."""
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - tail))
        return b'\xff\xd9' in f.read()
