"""Writing dataset folders (images + COCO JSON) without losing or silently replacing anyone's files.

Rules shared by the tree converter and the synthetic generator:

* an existing file whose content differs from what would be written is replaced only with ``force=True``
  (``--force``); one with the same content (pixels for images, parsed JSON for annotations) is left as it is, so
  re-running a converter, or completing a dataset it wrote earlier, needs no ``--force``;
* every write is checked and goes to a temporary file first, then is renamed: a failure raises an error naming the
  file, and a kill never leaves a half-written image or JSON under its final name;
* annotation files are written last, so a dataset whose JSON exists has all of its images.
"""
import json
import os
import os.path as osp
from pathlib import Path
from typing import Any, Iterable, List

import numpy as np

from ..fileio import write_bytes_atomically

__all__ = ['DatasetWriter', 'missing_images']


def _same_content(path: Path, content: Any) -> bool:
    import cv2
    if isinstance(content, np.ndarray):
        existing = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return existing is not None and existing.shape == content.shape and np.array_equal(existing, content)
    try:
        return json.loads(path.read_text()) == json.loads(json.dumps(content))
    except (ValueError, UnicodeDecodeError):
        return False


class DatasetWriter:
    """Writes images and JSON files under ``root`` following the rules above.

    Args:
        root (str): Dataset folder.
        force (bool): Replace existing files whose content differs.
    """

    def __init__(self, root: str, force: bool = False):
        self.root = Path(root)
        self.force = force

    def conflicts(self, items: Iterable[tuple]) -> List[str]:
        """Relative paths among ``(relative_path, content)`` items that exist with a different content."""
        return [rel for rel, content in items
                if (self.root / rel).exists() and not _same_content(self.root / rel, content)]

    def ensure_writable(self, folders: Iterable[str]) -> None:
        """Create the ``folders`` (relative to ``root``); raise if one cannot be written."""
        for folder in sorted({self.root / f for f in folders}):
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError(f'cannot write into {folder}: check its permissions or choose another '
                                      f'output folder')

    def check(self, items: Iterable[tuple]) -> None:
        """Raise before any work if an item would replace a different file (without ``force``) or its folder
        cannot be written."""
        items = list(items)
        self.ensure_writable({str(Path(rel).parent) for rel, _ in items})
        if not self.force:
            self._refuse(self.conflicts(items))

    def _refuse(self, conflicts: List[str]) -> None:
        if conflicts:
            shown = ', '.join(str(self.root / rel) for rel in conflicts[:5])
            more = f' and {len(conflicts) - 5} more' if len(conflicts) > 5 else ''
            raise FileExistsError(f'{len(conflicts)} existing files would be replaced by different content: '
                                  f'{shown}{more}. Pass --force (force=True) to overwrite them, or choose another '
                                  f'output folder.')

    def write(self, rel: str, content: Any) -> bool:
        """Write one image (``np.ndarray``, encoded by the file's extension) or JSON-serialisable object.

        Returns:
            bool: False if an identical file was already there (nothing written).
        """
        import cv2
        path = self.root / rel
        if path.exists():
            if _same_content(path, content):
                return False
            if not self.force:
                self._refuse([rel])
        if isinstance(content, np.ndarray):
            ok, encoded = cv2.imencode(path.suffix, content)
            if not ok:
                raise OSError(f'could not encode {path} ({content.shape} {content.dtype} as {path.suffix})')
            data = encoded.tobytes()
        else:
            data = json.dumps(content).encode()
        write_bytes_atomically(str(path), data)
        return True


def missing_images(ann_file: str, image_dir: str) -> List[str]:
    """Paths of the images that the COCO file ``ann_file`` names but ``image_dir`` lacks; ``[ann_file]`` if that
    file is missing or unreadable."""
    try:
        with open(ann_file) as f:
            paths = [osp.join(image_dir, img['file_name']) for img in json.load(f)['images']]
    except (OSError, ValueError, KeyError, TypeError):
        return [ann_file]
    return [path for path in paths if not osp.isfile(path)]
