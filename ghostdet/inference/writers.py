"""Inference outputs, written image by image so that a killed run loses nothing it finished.

``OUT/`` holds:

* ``detections.csv``: ``image_path,xmin,ymin,xmax,ymax,label,score`` (deepforest's columns; ``label`` is the class
  name, boxes in pixels of the original image), appended as each image finishes;
* ``results.json``: COCO-style results (``image_id``, ``file_name``, ``category_id`` = label + 1,
  ``category_name``, ``bbox`` as ``[x, y, w, h]``, ``score``), written at the end of a run;
* ``vis/``: each image with its detections drawn, downscaled to at most ``MAX_DRAW_SIDE`` pixels a side;
* ``per_image/<name>.json``: the record of each finished image, written atomically. Records are the source of
  truth: a resumed run (``--skip-existing``) skips the images that have one and rebuilds the CSV from them;
* ``run.json``: the settings of the run, so that a resumed run cannot mix settings.
"""
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np

from .merging import Detections

CSV_COLUMNS = ('image_path', 'xmin', 'ymin', 'xmax', 'ymax', 'label', 'score')
MAX_DRAW_SIDE = 4096
OUTPUT_NAMES = ('detections.csv', 'results.json', 'run.json', 'failures.txt', 'per_image', 'vis')


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.' + path.name, suffix='.tmp')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _csv_rows(name: str, record: dict) -> List[list]:
    return [[name, *(f'{v:.2f}' for v in det[:4]), record['class_names'][det[5]], f'{det[4]:.4f}']
            for det in record['detections']]


def prepare_out_dir(out_dir: str, settings: dict, skip_existing: bool = False, force: bool = False) -> None:
    """Check and set up ``out_dir`` before any work.

    Raises:
        PermissionError: ``out_dir`` cannot be created or written.
        FileExistsError: It holds results and neither ``skip_existing`` nor ``force`` is given, or
            ``skip_existing`` continues a run made with other settings.
    """
    out = Path(out_dir)
    if skip_existing and force:
        raise ValueError('--skip-existing continues a run, --force replaces it: give one of them')
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise PermissionError(f'cannot write to the output folder {out_dir}: {error}') from error
    existing = [n for n in OUTPUT_NAMES if (out / n).exists()]
    if existing and force:
        for name in existing:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            else:
                (out / name).unlink()
    elif existing and not skip_existing:
        raise FileExistsError(f'{out_dir} already holds results ({", ".join(existing)}): pass --skip-existing to '
                              'continue that run, --force to replace them, or choose another --out-dir')
    elif existing and (out / 'run.json').is_file():
        previous = json.loads((out / 'run.json').read_text())
        if previous != settings:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            raise FileExistsError(f'{out_dir} holds a run with other settings ({", ".join(changed)}); '
                                  'continue it with the same settings, or use --force / another --out-dir')
    _atomic_write_text(out / 'run.json', json.dumps(settings, indent=1, sort_keys=True))


class ResultWriter:
    """Writes the outputs of one run into a folder prepared by :func:`prepare_out_dir`.

    Args:
        out_dir (str): The output folder.
        class_names (Sequence[str]): The detector's class names.
        draw (bool): Write drawn images to ``vis/``.
    """

    def __init__(self, out_dir: str, class_names: Sequence[str], draw: bool = True):
        self.out = Path(out_dir)
        self.class_names = list(class_names)
        self.draw = draw
        self._rewrite_csv()

    def _record_path(self, name: str) -> Path:
        return self.out / 'per_image' / f'{name}.json'

    def _records(self) -> Dict[str, dict]:
        root = self.out / 'per_image'
        paths = sorted(root.rglob('*.json')) if root.is_dir() else []
        return {p.relative_to(root).as_posix()[:-len('.json')]: json.loads(p.read_text()) for p in paths}

    def _rewrite_csv(self) -> None:
        """The CSV of every finished image (drops rows of an image whose record a kill left unwritten)."""
        lines = [list(CSV_COLUMNS)]
        for name, record in self._records().items():
            lines += _csv_rows(name, record)
        tmp = self.out / '.detections.csv.tmp'
        with open(tmp, 'w', newline='') as f:
            csv.writer(f).writerows(lines)
        os.replace(tmp, self.out / 'detections.csv')

    def is_done(self, name: str) -> bool:
        return self._record_path(name).is_file()

    def write(self, name: str, image: np.ndarray, dets: Detections) -> None:
        """Append an image's rows to the CSV, draw it, then record it as finished."""
        record = dict(file_name=name, height=int(image.shape[0]), width=int(image.shape[1]),
                      class_names=self.class_names,
                      detections=[[*map(float, box), float(score), int(label)]
                                  for box, score, label in zip(dets.bboxes, dets.scores, dets.labels)])
        with open(self.out / 'detections.csv', 'a', newline='') as f:
            csv.writer(f).writerows(_csv_rows(name, record))
        if self.draw:
            vis = self.out / 'vis' / (name if name.lower().endswith(('.jpg', '.jpeg')) else name + '.jpg')
            vis.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(vis), draw_detections(image, dets, self.class_names)):
                raise OSError(f'cannot write {vis}')
        _atomic_write_text(self._record_path(name), json.dumps(record))

    def finish(self, failures: Sequence[str] = ()) -> None:
        """Write ``results.json`` from every finished image and ``failures.txt`` (removed when none failed)."""
        results = []
        for image_id, (name, record) in enumerate(self._records().items(), start=1):
            for x1, y1, x2, y2, score, label in record['detections']:
                results.append(dict(image_id=image_id, file_name=name, category_id=int(label) + 1,
                                    category_name=record['class_names'][int(label)],
                                    bbox=[x1, y1, x2 - x1, y2 - y1], score=score))
        _atomic_write_text(self.out / 'results.json', json.dumps(results))
        if failures:
            _atomic_write_text(self.out / 'failures.txt', '\n'.join(failures) + '\n')
        elif (self.out / 'failures.txt').exists():
            (self.out / 'failures.txt').unlink()


def _palette(num_classes: int) -> np.ndarray:
    hues = (np.arange(num_classes) * 180 / max(num_classes, 1) + 60).astype(np.uint8) % 180
    hsv = np.stack([hues, np.full_like(hues, 220), np.full_like(hues, 255)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]


def draw_detections(image: np.ndarray, dets: Detections, class_names: Sequence[str],
                    max_side: int = MAX_DRAW_SIDE) -> np.ndarray:
    """A copy of ``image`` (downscaled so that its longer side is at most ``max_side``) with the boxes drawn,
    one colour per class, and ``class score`` written above boxes tall enough to carry it."""
    scale = min(1.0, max_side / max(image.shape[:2]))
    canvas = (cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1
              else image.copy())
    colours = _palette(len(class_names))
    thickness = max(1, round(max(canvas.shape[:2]) / 1500))
    for box, score, label in zip(dets.bboxes * scale, dets.scores, dets.labels):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        colour = tuple(int(c) for c in colours[label])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        if y2 - y1 >= 24:
            cv2.putText(canvas, f'{class_names[label]} {score:.2f}', (x1, max(y1 - 3, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return canvas
