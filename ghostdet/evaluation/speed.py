"""COCO box evaluation end to end from json files: pycocotools, faster-coco-eval, hotcoco and ghostdet, interleaved
in one process, plus ghostdet's command-line tool as a whole process (``tools/analysis_tools/benchmark_eval.py``).

Every in-process backend loads the annotation and results files, runs ``evaluate``, ``accumulate`` and
``summarize`` (ghostdet: load, validate, evaluate, summarise); each round runs them in the same order, so a machine
that slows down mid-run slows all of them. The accumulated arrays are compared with pycocotools' value for value.
"""
import contextlib
import io
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from typing import Callable, Dict, Iterator, Tuple

import numpy as np

STATS_KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl')
TOOL = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'analysis_tools',
                'eval_small_objects.py')


def _pycocotools_api(coco_cls, eval_cls, ann: str, res: str):
    """pycocotools' API (pycocotools itself, or faster-coco-eval's copy of it): load, evaluate, summarise."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_cls(ann)
        ev = eval_cls(gt, gt.loadRes(res), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.eval, list(ev.stats[:12])


def _pycocotools(ann: str, res: str):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    return _pycocotools_api(COCO, COCOeval, ann, res)


def _faster_coco_eval(ann: str, res: str):
    from faster_coco_eval import COCO, COCOeval_faster
    return _pycocotools_api(COCO, COCOeval_faster, ann, res)


def _hotcoco(ann: str, res: str, phases: Dict[str, list]):
    import hotcoco
    tic = time.perf_counter()
    gt = hotcoco.COCO(ann)
    ev = hotcoco.COCOeval(gt, gt.load_res(res), 'bbox')
    t_load = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    _record(phases, load=t_load - tic, evaluate=time.perf_counter() - t_load)
    return ev.eval, list(ev.stats)


def _record(phases: Dict[str, list], **seconds: float) -> None:
    for name, value in seconds.items():
        phases.setdefault(name, []).append(value)


def _ghostdet(ann: str, res: str, phases: Dict[str, list]):
    from .backend import GroundTruth
    from .coco_io import load_annotations, load_results
    from .small_object_eval import evaluate_small_objects
    tic = time.perf_counter()
    gt = GroundTruth.from_coco(load_annotations(ann))
    t_gt = time.perf_counter()
    dt, _ = load_results(res, gt)
    t_res = time.perf_counter()
    report = evaluate_small_objects(gt, dt, area_ranges='coco')
    t_eval = time.perf_counter()
    _record(phases, load_annotations=t_gt - tic, load_and_validate_results=t_res - t_gt, evaluate=t_eval - t_res)
    arrays = dict(precision=report.eval.precision, recall=report.eval.recall, scores=report.eval.scores)
    return arrays, list(report.stats.values())


def _cli(ann: str, res: str, *args: str) -> None:
    subprocess.run([sys.executable, TOOL, ann, res, *args], check=True, stdout=subprocess.DEVNULL)


def benchmark_backends(num_images: int = 5000, dets_per_image: int = 100, repeats: int = 3,
                       seed: int = 0) -> Iterator[str]:
    """Time the backends on a COCO val2017-like problem; yields the report's lines (progress included)."""
    from ghostdet.testing.coco import coco_val_like_problem
    gt_dict, dets = coco_val_like_problem(num_images, dets_per_image, seed=seed)
    yield (f'problem: {len(gt_dict["images"])} images, {len(gt_dict["annotations"])} objects, {len(dets)} detections, '
           f'{len(gt_dict["categories"])} classes; {os.cpu_count()} CPUs visible')
    with tempfile.TemporaryDirectory() as tmp:
        ann, res = osp.join(tmp, 'gt.json'), osp.join(tmp, 'dt.json')
        for path, data in ((ann, gt_dict), (res, dets)):
            with open(path, 'w') as f:
                json.dump(data, f)
        hot_phases: Dict[str, list] = {}
        our_phases: Dict[str, list] = {}
        runners: Dict[str, Callable[[], Tuple]] = {
            f'pycocotools {version("pycocotools")} (in process)': lambda: _pycocotools(ann, res),
            f'faster-coco-eval {version("faster-coco-eval")} (in process)': lambda: _faster_coco_eval(ann, res),
            f'hotcoco {version("hotcoco")} (in process)': lambda: _hotcoco(ann, res, hot_phases),
            'ghostdet library (in process)': lambda: _ghostdet(ann, res, our_phases),
            'ghostdet CLI, standard summary (whole process)': lambda: _cli(ann, res, '--area-ranges', 'coco'),
            'ghostdet CLI, + AI-TOD ranges (whole process)': lambda: _cli(ann, res),
        }
        times: Dict[str, list] = {name: [] for name in runners}
        outputs = {}
        for r in range(repeats):
            for name, run in runners.items():
                tic = time.perf_counter()
                outputs[name] = run()
                times[name].append(time.perf_counter() - tic)
                yield f'  round {r + 1}/{repeats}: {name}: {times[name][-1]:.2f} s'

        reference = list(runners)[0]
        ref_eval, ref_stats = outputs[reference]
        yield ''
        yield ('| backend | median s | x faster than pycocotools (median of per-round ratios) | arrays vs pycocotools '
               '| 12 stats |')
        yield '|---|---|---|---|---|'
        for name, values in times.items():
            ratio = statistics.median(p / t for p, t in zip(times[reference], values))
            same_arrays = same_stats = '-'
            if outputs[name] is not None:
                arrays, stats = outputs[name]
                diff = max(np.abs(np.subtract(arrays[k], ref_eval[k])).max() for k in ('precision', 'recall', 'scores'))
                same_arrays = 'identical' if diff == 0 else f'max diff {diff:.1e}'
                same_stats = f'max diff {np.abs(np.subtract(stats[:12], ref_stats)).max():.1e}'
            yield f'| {name} | {statistics.median(values):.2f} | {ratio:.1f} | {same_arrays} | {same_stats} |'
        named = [(f'hotcoco {k}', v) for k, v in hot_phases.items()]
        named += [(f'ghostdet {k}', v) for k, v in our_phases.items()]
        med = {k: statistics.median(v) for k, v in named}
        yield ''
        yield ('evaluation itself (evaluate + accumulate + summary, files already loaded): ghostdet / bare hotcoco = '
               f'{med["ghostdet evaluate"] / med["hotcoco evaluate"]:.2f}x')
        yield 'where the time goes (median s): ' + ', '.join(f'{k.replace("_", " ")} {v:.2f}' for k, v in med.items())
