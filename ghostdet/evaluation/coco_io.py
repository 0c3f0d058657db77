"""COCO box annotations and detection results in: loading, conversion of mmdet predictions, validation.

Detections travel as one ``(N, 7)`` float64 array ``[image_id, x, y, w, h, score, category_id]``, the layout
pycocotools' and hotcoco's ``loadRes`` read. :func:`detections_from_predictions` is the one place where mmdet's
label indices become category ids and ``xyxy`` boxes become ``xywh`` (``SmallObjectMetric`` and the ``.pkl`` reader
both use it), with the same float64 arithmetic as ``CocoMetric.results2json``, so the numbers equal those of the
json CocoMetric writes.
"""
import json
import os
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

DETECTION_COLUMNS = ('image_id', 'x', 'y', 'w', 'h', 'score', 'category_id')
_RESULT_KEYS = ('image_id', 'category_id', 'bbox', 'score')


def detections_from_predictions(predictions: Sequence[Mapping], cat_ids: Sequence[int]) -> np.ndarray:
    """mmdet predictions (one dict per image: ``img_id``, ``bboxes`` xyxy, ``scores``, ``labels`` as arrays or
    tensors) -> ``(N, 7)`` detections; label ``k`` becomes ``cat_ids[k]`` as in ``CocoMetric``.

    Raises:
        ValueError: A label outside ``0 .. len(cat_ids) - 1`` (the head's classes and the dataset's disagree).
    """
    cat_ids = np.asarray(cat_ids, dtype=np.float64)
    rows = []
    for pred in predictions:
        labels = _numpy(pred['labels']).astype(np.int64).ravel()
        xyxy = _numpy(pred['bboxes']).astype(np.float64).reshape(-1, 4)
        scores = _numpy(pred['scores']).astype(np.float64).ravel()
        if not len(labels) == len(xyxy) == len(scores):
            raise ValueError(f'image {pred["img_id"]}: {len(xyxy)} boxes, {len(scores)} scores and {len(labels)} '
                             'labels; a prediction needs one of each per detection')
        bad = (labels < 0) | (labels >= len(cat_ids))
        if bad.any():
            raise ValueError(f'image {pred["img_id"]}: predicted label {labels[bad][0]} but the annotations have '
                             f'{len(cat_ids)} categories (labels 0..{len(cat_ids) - 1}): num_classes of the head and '
                             'the dataset classes disagree')
        rows.append(np.c_[np.full(len(labels), float(pred['img_id'])), xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2],
                          scores, cat_ids[labels]])
    return np.concatenate(rows) if rows else np.zeros((0, 7))


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):  # a torch tensor (only present when torch is)
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def validate_detections(dets: np.ndarray, img_ids: Sequence[int], cat_ids: Sequence[int], source: str = 'results',
                        drop_invalid: bool = False) -> Tuple[np.ndarray, Dict[str, int]]:
    """Check every detection: finite numbers, positive width and height, image and category ids of the annotations.

    Args:
        dets (np.ndarray): ``(N, 7)`` detections.
        img_ids, cat_ids (sequence): The annotation file's image and category ids.
        source (str): Named in the error message (a file name).
        drop_invalid (bool): Drop the invalid detections and count them instead of raising.

    Returns:
        tuple: ``(valid detections, {problem: count})`` (the dict is empty when all are valid).

    Raises:
        ValueError: Naming the first invalid detection (by its position in the results), unless ``drop_invalid``.
    """
    problems = {
        'a non-finite value (NaN or inf)': ~np.isfinite(dets).all(1),
        'a non-positive width or height': ~((dets[:, 3] > 0) & (dets[:, 4] > 0)),
        'an image id that is not in the annotations': ~np.isin(dets[:, 0], np.asarray(img_ids, dtype=np.float64)),
        'a category id that is not in the annotations': ~np.isin(dets[:, 6], np.asarray(cat_ids, dtype=np.float64)),
    }
    invalid = np.logical_or.reduce(list(problems.values())) if len(dets) else np.zeros(0, bool)
    if not invalid.any():
        return dets, {}
    counts = {name: int(mask.sum()) for name, mask in problems.items() if mask.any()}
    if drop_invalid:
        return dets[~invalid], counts
    first = int(np.flatnonzero(invalid)[0])
    reason = next(name for name, mask in problems.items() if mask[first])
    image_id, x, y, w, h, score, category_id = dets[first].tolist()
    raise ValueError(
        f'{source}: detection #{first} (image_id={image_id:g}, category_id={category_id:g}, bbox=[{x:g}, {y:g}, '
        f'{w:g}, {h:g}], score={score:g}) has {reason}; {int(invalid.sum())} of {len(dets)} detections are invalid '
        f'({", ".join(f"{n} with {k}" for k, n in counts.items())}). Fix the results (unknown ids: they belong to '
        'another dataset, split or class list), or drop and count them with --drop-invalid / drop_invalid=True')


def load_annotations(path: str):
    """A COCO annotation file as a hotcoco ``COCO``, with a clear error when the file is not one."""
    import hotcoco
    first = _first_char(path)
    if first != '{':
        raise ValueError(f'{path}: not a COCO annotation file (a JSON object with "images", "annotations" and '
                         '"categories")' + ('; it is a list, like a results file: did you swap ANN_JSON and RESULTS?'
                                            if first == '[' else ''))
    try:
        coco = hotcoco.COCO(path)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f'{path}: cannot read the COCO annotations ({e})') from None
    if not coco.get_img_ids() or not coco.get_cat_ids():
        raise ValueError(f'{path}: the annotation file lists no images or no categories')
    return coco


def _first_char(path: str) -> str:
    try:
        with open(path, 'rb') as f:
            head = f.read(4096).lstrip(b'\xef\xbb\xbf \t\r\n')
    except OSError as e:
        raise ValueError(f'{path}: cannot read ({e.strerror})') from None
    return head[:1].decode('latin1')


def load_results(path: str, gt, drop_invalid: bool = False):
    """A results json or an mmdet ``tools/test.py --out`` pickle as a hotcoco results ``COCO``, validated.

    A json file is parsed by hotcoco (Rust) and checked with its loader warnings and health checks; only when those
    report a problem (or with ``drop_invalid``) is it read again in Python to name the first invalid detection or to
    drop the invalid ones (:func:`validate_detections` holds the rules). A pickle is read with an allow-listed
    unpickler (:mod:`.safe_pickle`); its labels index the annotation file's categories in file order.

    Args:
        path (str): ``*.json`` results list or ``*.pkl`` / ``*.pickle``.
        gt (GroundTruth): The annotations (``gt.cat_ids`` in file order: mmdet's ``CocoDataset`` numbers labels so).
        drop_invalid (bool): Drop invalid detections (and count them) instead of raising.

    Returns:
        tuple: ``(hotcoco COCO of the detections, {problem: number dropped})``.
    """
    if path.endswith(('.pkl', '.pickle')):
        dets = _pickle_detections(path, gt.cat_ids)
    else:
        first = _first_char(path)
        if first != '[':
            raise ValueError(f'{path}: a COCO results file is a JSON list of detections '
                             '[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]')
        if not drop_invalid:
            fast = _load_json_if_clean(path, gt)
            if fast is not None:
                return fast, {}
        dets = _json_detections(path)
    dets, dropped = validate_detections(dets, gt.img_ids, gt.cat_ids, os.path.basename(path), drop_invalid)
    return gt.coco.load_res(dets), dropped


def _load_json_if_clean(path: str, gt):
    """hotcoco's parse of a results json, or ``None`` when its loader or health checks see anything invalid."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            dt = gt.coco.load_res(path)
    except (ValueError, TypeError, KeyError):
        return None  # a non-finite number, a wrong type, a bbox without 4 values: named by the Python reader
    if dt.load_warnings:  # unknown image or category ids
        return None
    codes = {issue['code'] for check in (gt.coco.healthcheck(dt), dt.healthcheck())
             for issue in check['errors'] + check['warnings']}
    if codes & {'dt_orphan_image_id', 'dt_orphan_category_id', 'dt_missing_score', 'degenerate_bbox'}:
        return None
    return dt


def _json_detections(path: str) -> np.ndarray:
    try:
        with open(path) as f:
            results = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f'{path}: cannot read a results json ({e})') from None
    if not isinstance(results, list):
        raise ValueError(f'{path}: a COCO results file is a list of detections, got a {type(results).__name__}')
    rows = []
    for i, r in enumerate(results):
        try:
            if not isinstance(r, dict) or len(r['bbox']) != 4:
                raise TypeError
            rows.append([float(r['image_id']), *map(float, r['bbox']), float(r['score']), float(r['category_id'])])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f'{path}: detection #{i} is not {{"image_id", "category_id", "bbox": [x, y, w, h], '
                             f'"score"}} with numbers: {str(r)[:200]}') from None
    return np.array(rows, dtype=np.float64).reshape(-1, 7)


def _pickle_detections(path: str, cat_ids: Sequence[int]) -> np.ndarray:
    import pickle

    from .safe_pickle import safe_load_pickle
    try:
        samples = safe_load_pickle(path)
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise ValueError(f'{path}: cannot read the pickle ({e})') from None
    if not isinstance(samples, list) or any(
            not isinstance(s, dict) or 'img_id' not in s or not isinstance(s.get('pred_instances'), dict)
            for s in samples):
        raise ValueError(f'{path}: expected the list of dicts with "img_id" and "pred_instances" that mmdet\'s '
                         'tools/test.py --out writes')
    try:
        return detections_from_predictions([dict(s['pred_instances'], img_id=s['img_id']) for s in samples], cat_ids)
    except KeyError as e:
        raise ValueError(f'{path}: pred_instances without {e}') from None
