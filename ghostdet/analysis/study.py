"""The backbone study on the tree data (issue 17, "Which backbone for small objects"): the tree detector with each
backbone and GhostNetV3 recipe of :data:`ROWS`, trained and tested for several seeds, next to the size, compute and
CPU latency of its inference form, eager and exported (OpenVINO), in one table and one plot.

Layout (the seeds sweep's, :mod:`ghostdet.engine.seeds`, under one root)::

    <root>/<config-stem>/seed<k>/     one (row, seed) run: tools/train.py, tools/test.py, test_metrics.json
    <root>/<config-stem>/summary.md   that row's finished seeds (run_seeds)
    <root>/measurements.json          cache: params / FLOPs / latencies per inference network, full-image AP
                                      per checkpoint
    <root>/study.md, study.json, study.png

Runs go seed-major (every row's seed 0, then every row's seed 1, ...), so a study stopped early already compares
every row. A (row, seed) with ``test_metrics.json``, or with its final checkpoint and a finished ``tools/test.py``
run of it under ``test/``, is never run again; a folder copied from another sweep (its test log names the original
checkpoint) counts when that original is byte-identical to the copy. Everything else is what ``run_seeds`` does:
an unfinished training is resumed.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from ..datasets.trees import MAIN_JOB_CONFIG
from ..engine.seeds import SeedRun, final_checkpoint_name, finished_test, run_seeds, summarise
from ..fileio import write_bytes_atomically, write_text_atomically
from .detector import build_detector, dummy_batch, load_config
from .latency import describe_cpu, forward_call, interleaved_latency

__all__ = ['ROWS', 'StudyRow', 'select_rows', 'study_order', 'finished_metrics', 'seconds_since_log',
           'network_signature', 'exported_call', 'coco_area_summary', 'full_image_metrics', 'format_study',
           'plot_study', 'run_study']

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StudyRow:
    """One row of the study.

    Args:
        key (str): Short name for ``--rows``.
        name (str): Name in the table (and the README).
        config (str): Config file, relative to the repository.
        group (str): ``'backbone'`` (the tree recipe with that backbone) or ``'recipe'`` (GhostNetV3 / GhostNet
            trained another way).
    """
    key: str
    name: str
    config: str
    group: str


_TREES, _DISTILL = 'configs/trees/backbones/rtmdet-pafpn64_{}_trees.py', 'configs/distill/rtmdet-pafpn_{}_trees.py'
ROWS = (
    StudyRow('ghostnet', 'GhostNet 1.0x', 'configs/trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', 'backbone'),
    StudyRow('ghostnetv2', 'GhostNetV2 1.0x', _TREES.format('ghostnetv2-1.0x'), 'backbone'),
    StudyRow('ghostnetv3', 'GhostNetV3 1.0x', _TREES.format('ghostnetv3-1.0x'), 'backbone'),
    StudyRow('shufflenetv1', 'ShuffleNetV1 g3 1.0x (main job)', MAIN_JOB_CONFIG, 'backbone'),
    StudyRow('shufflenetv2', 'ShuffleNetV2 1.0x', _TREES.format('shufflenetv2-1.0x'), 'backbone'),
    StudyRow('shufflenetv2-1.5x', 'ShuffleNetV2 1.5x', _TREES.format('shufflenetv2-1.5x'), 'backbone'),
    StudyRow('mobilenetv2', 'MobileNetV2 1.0x', _TREES.format('mobilenetv2-1.0x'), 'backbone'),
    StudyRow('mobilenetv3-large', 'MobileNetV3-large', _TREES.format('mobilenetv3-large'), 'backbone'),
    StudyRow('mobilenetv3-small', 'MobileNetV3-small', _TREES.format('mobilenetv3-small'), 'backbone'),
    StudyRow('efficientnet-b0', 'EfficientNet-B0', _TREES.format('efficientnet-b0'), 'backbone'),
    StudyRow('ghostnetv3-norep', 'GhostNetV3 without branches', _TREES.format('ghostnetv3-1.0x-norep'), 'recipe'),
    StudyRow('ghostnetv3-mixup', 'GhostNetV3 + MixUp', _TREES.format('ghostnetv3-1.0x-mixup'), 'recipe'),
    StudyRow('ghostnetv3-kd', 'GhostNetV3 distilled', _DISTILL.format('ghostnet-1.3x-to-ghostnetv3-1.0x_pkd-kd'),
             'recipe'),
    StudyRow('ghostnetv3-norep-kd', 'GhostNetV3 without branches distilled',
             _DISTILL.format('ghostnet-1.3x-to-ghostnetv3-1.0x-norep_pkd-kd'), 'recipe'),
    StudyRow('ghostnet-kd', 'GhostNet 1.0x distilled', _DISTILL.format('ghostnet-1.3x-to-1.0x_pkd-kd'), 'recipe'),
)
TEACHER_CONFIG = 'configs/trees/rtmdet-pafpn96_ghostnet-1.3x_trees-teacher.py'
GOAL_AP50 = 0.5
MIN_SEEDS = 3  # rows with fewer finished seeds are marked: their ± is no spread yet
METRICS = {'mAP': 'coco/bbox_mAP', 'AP50': 'coco/bbox_mAP_50', 'APs': 'coco/bbox_mAP_s', 'APm': 'coco/bbox_mAP_m'}
INPUT_SHAPE = (640, 640)
BUSY_S = 600  # an unfinished run whose log was written this recently is left alone (another process runs it)
# Full-image AP: the README's recommended way to predict a large region (sliced 640, NMS IoU 0.5, 20 % overlap),
# every detection the detector keeps, pycocotools at up to 300 detections per image, as full_image_trees.py does.
FULL_IMAGE_SLICING = dict(slice_size=640, overlap=0.2, merge='nms', match_metric='iou', match_thr=0.5, score_thr=0.0)
FULL_IMAGE_MAX_DETS = 300
COCO_AREAS = dict(all=(0, 1e10), small=(0, 32 ** 2), medium=(32 ** 2, 96 ** 2), large=(96 ** 2, 1e10))
LATENCY_NOTE = ('median ms of one forward of the inference form (BatchNorm folded, GhostNetV3 branches fused; '
                'distilled rows: the student alone) on one {h}x{w} image, batch 1, random weights; network only '
                '(backbone, neck and head outputs: no data loading, preprocessing, box decoding or NMS); all rows '
                'timed in rotation in one process, {repeats} rounds after {warmup}; rows with the same inference '
                'network share one measurement')
EXPORTED_NOTE = ('OpenVINO ms: the same network exported as tools/deployment/export.py exports it (ONNX, without box '
                 'decoding and NMS) and run by OpenVINO fp32 (INFERENCE_PRECISION_HINT f32, latency mode: the form '
                 'whose AP equals PyTorch\'s) with the same threads on the same image, timed in the same rotation; in '
                 'brackets its ratio to PyTorch ms')

Runner = Callable[..., None]  # run(command, env=..., cwd=...): runs one tools/train.py or tools/test.py command


def select_rows(names: Optional[Sequence[str]] = None) -> List[StudyRow]:
    """The rows named (by key or table name, any case) in study order; all rows when ``names`` is empty.

    Raises:
        ValueError: A name that is no row; the message lists the valid ones.
    """
    if not names:
        return list(ROWS)
    by_name = {n.lower(): row for row in ROWS for n in (row.key, row.name)}
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown:
        valid = ', '.join(f'{row.key} ({row.name})' for row in ROWS)
        raise ValueError(f'unknown study row(s) {unknown}; valid rows (key or name): {valid}')
    chosen = {by_name[n.lower()] for n in names}
    return [row for row in ROWS if row in chosen]


def study_order(rows: Sequence[StudyRow], seeds: Sequence[int]) -> List[Tuple[StudyRow, int]]:
    """Seed-major order: every row's first seed, then every row's second seed, ..."""
    return [(row, seed) for seed in seeds for row in rows]


class _Row:
    """A row with its config loaded (the config's ``custom_imports`` happen here, before any work)."""

    def __init__(self, row: StudyRow, repo: Path, root: Path):
        self.row, self.config = row, repo / row.config
        if not self.config.is_file():
            raise FileNotFoundError(f'study row {row.name!r}: config {self.config} does not exist')
        try:
            self.cfg = Config.fromfile(str(self.config))
        except ImportError as error:
            raise ImportError(f'study row {row.name!r} ({row.config}) cannot be loaded: {error}; mmpretrain\'s '
                              f'backbones need the tests extra (pip install -e .[tests])') from error
        self.distilled = self.cfg.model.get('type') == 'DistillationDetector'
        self.final_name = final_checkpoint_name(self.cfg)
        self.sweep = root / self.config.stem

    def seed_run(self, seed: int) -> SeedRun:
        return SeedRun(str(self.sweep / f'seed{seed}'), seed, self.final_name)

    def inference_cfg(self) -> Config:
        """The config whose model is deployed: the student of a distillation config."""
        if not self.distilled:
            return self.cfg
        from ..models.detectors import student_config
        return student_config(self.cfg)


def _same_file(a: Path, b: Path) -> bool:
    if not (a.is_file() and b.is_file()) or a.stat().st_size != b.stat().st_size:
        return False
    digests = []
    for path in (a, b):
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        digests.append(digest.digest())
    return digests[0] == digests[1]


def _test_of_copy(seed_run: SeedRun) -> Optional[Path]:
    """The metrics of a finished ``tools/test.py`` run under ``test/`` of a byte-identical original of the seed's
    checkpoint (the run folder was copied from another sweep, so its test log names the original's path)."""
    test_dir = seed_run.work_dir / 'test'
    logged = {m.strip() for log in test_dir.glob('*/*.log')
              for m in re.findall(r'Load checkpoint from (.+)$', log.read_text(errors='replace'), flags=re.M)}
    for original in sorted(logged):
        if Path(original).resolve() != seed_run.checkpoint.resolve() and _same_file(Path(original),
                                                                                    seed_run.checkpoint):
            return finished_test(test_dir, Path(original))
    return None


def finished_metrics(seed_run: SeedRun, adopt: bool = False) -> Optional[Dict[str, float]]:
    """The seed's test metrics if it is finished (see the module's docstring), else None.

    Args:
        seed_run (SeedRun): The seed's folder.
        adopt (bool): Write ``test_metrics.json`` for a finished run that has none yet (after checking the seed the
            checkpoint was trained with), as ``run_seeds`` would.
    """
    metrics = seed_run.metrics()
    if metrics is not None or not seed_run.trained():
        return metrics
    test = finished_test(seed_run.work_dir / 'test', seed_run.checkpoint) or _test_of_copy(seed_run)
    if test is None:
        return None
    if adopt:
        seed_run.check_seed()
        write_text_atomically(str(seed_run.metrics_file), test.read_text())
    return json.loads(test.read_text())


def seconds_since_log(seed_run: SeedRun) -> Optional[float]:
    """Seconds since a training or test log of the seed was last written (None: no log). mmengine writes one line
    every logging interval, so a recent write means that another process (e.g. tools/experiments/seeds.py on the same
    root) is most likely running it now."""
    logs = [*seed_run.work_dir.glob('*/*.log'), *seed_run.work_dir.glob('test/*/*.log')]
    return time.time() - max(log.stat().st_mtime for log in logs) if logs else None


def _run_command(command: List[str], env: Dict[str, str], cwd: str) -> None:
    print('+ ' + ' '.join(command), flush=True)
    subprocess.run(command, check=True, env=env, cwd=cwd)


def network_signature(model: nn.Module) -> str:
    """Identical for two models with the same modules and parameter shapes (e.g. GhostNetV3 fused and GhostNetV3
    built without branches), so such rows share one measurement."""
    text = repr(model) + repr([(k, tuple(v.shape)) for k, v in model.state_dict().items()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def exported_call(model: nn.Module, shape: Sequence[int], threads: int, work_dir: str) -> Callable[[], object]:
    """The same network as deployed: exported as ``tools/deployment/export.py`` exports it, without box decoding and
    NMS (:class:`~ghostdet.deploy.end2end.End2EndDetector` ``outputs='maps'``), run by OpenVINO fp32 on the same
    image. Raises ``MissingRuntimeError`` without the ``deploy`` extra."""
    from ..deploy.end2end import End2EndDetector
    from ..deploy.export import export_onnx
    from ..deploy.runtimes import OpenVINOSession
    path = Path(work_dir) / 'network.onnx'
    export_onnx(End2EndDetector(model, tuple(shape), outputs='maps'), path, shape, output_names=())
    session = OpenVINOSession(path, 'fp32', threads=threads)  # the compiled model no longer reads the file
    return partial(session, dummy_batch(model, shape)['inputs'].numpy())


def coco_area_summary(coco_eval) -> Dict[str, float]:
    """AP, AP50, APs, APm at the last detection limit (pycocotools' summarize() reads AP at 100); also used by
    tools/experiments/full_image_trees.py."""
    precision = coco_eval.eval['precision'][..., -1]  # T, R, K, A
    labels = coco_eval.params.areaRngLbl

    def mean(p):
        p = p[p > -1]
        return float(p.mean()) if p.size else -1.0

    return dict(AP=mean(precision[..., labels.index('all')]), AP50=mean(precision[0, ..., labels.index('all')]),
                APs=mean(precision[..., labels.index('small')]), APm=mean(precision[..., labels.index('medium')]))


def full_image_metrics(cfg: Config, checkpoint: str, data_root: str) -> Dict[str, float]:
    """AP, AP50, APs, APm of a trained checkpoint on the whole held-out regions (``annotations/val_full.json``),
    predicted in slices (:data:`FULL_IMAGE_SLICING`) through :class:`~ghostdet.inference.SlicedPredictor`.

    Args:
        cfg (Config): The config the checkpoint was trained with (a distillation config: its student is evaluated).
        checkpoint (str): The trained checkpoint.
        data_root (str): The tree data folder (``annotations/val_full.json``, ``val_full/``).
    """
    from ..inference import PytorchDetector, SlicedPredictor, SliceOptions, read_image
    from ..testing.coco import pycocotools_eval
    root = Path(data_root)
    gt = json.loads((root / 'annotations' / 'val_full.json').read_text())
    with tempfile.TemporaryDirectory() as tmp:
        if cfg.model.get('type') == 'DistillationDetector':
            from ..models.detectors import export_student
            student = str(Path(tmp) / 'student.pth')
            cfg, _ = export_student(cfg, checkpoint, student)
            checkpoint = student
        predictor = SlicedPredictor(PytorchDetector(cfg, checkpoint), SliceOptions(**FULL_IMAGE_SLICING))
    cat_ids = [c['id'] for c in gt['categories']]
    results = []
    for image in gt['images']:
        dets = predictor.predict(read_image(str(root / 'val_full' / image['file_name'])))
        results += [dict(image_id=image['id'], category_id=cat_ids[label], bbox=[x1, y1, x2 - x1, y2 - y1],
                         score=float(score))
                    for (x1, y1, x2, y2), score, label in zip(dets.bboxes.tolist(), dets.scores, dets.labels)]
    return coco_area_summary(pycocotools_eval(gt, results, area_ranges=COCO_AREAS,
                                              max_dets=[1, 10, FULL_IMAGE_MAX_DETS]))


class _Measurements:
    """``<root>/measurements.json``: complexity and latency per inference network (by :func:`network_signature`
    and input shape), full-image metrics per (row, seed) checkpoint (by path, size and modification time)."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.is_file() else {}
        self.data.setdefault('networks', {})
        self.data.setdefault('full_image', {})

    def network(self, signature: str, shape: Sequence[int]) -> dict:
        return self.data['networks'].setdefault(f'{signature}@{shape[0]}x{shape[1]}', {})

    @staticmethod
    def _stamp(checkpoint: Path) -> dict:
        stat = checkpoint.stat()
        return dict(checkpoint=str(checkpoint), size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                    slicing=FULL_IMAGE_SLICING, max_dets=FULL_IMAGE_MAX_DETS)

    def full_image(self, key: str, seed: int, checkpoint: Path) -> Optional[dict]:
        entry = self.data['full_image'].get(key, {}).get(str(seed))
        if entry and checkpoint.is_file() and all(entry.get(k) == v for k, v in self._stamp(checkpoint).items()):
            return entry['metrics']
        return None

    def set_full_image(self, key: str, seed: int, checkpoint: Path, metrics: dict) -> None:
        self.data['full_image'].setdefault(key, {})[str(seed)] = dict(self._stamp(checkpoint), metrics=metrics)

    def save(self) -> None:
        write_text_atomically(str(self.path), json.dumps(self.data, indent=1))


def _mean_std(values: Sequence[float]) -> dict:
    """Mean and sample std (None below 2 values: no spread to show)."""
    values = np.asarray(values, dtype=float)
    return dict(mean=float(values.mean()), std=float(values.std(ddof=1)) if len(values) > 1 else None,
                n=len(values))


def _fmt(stat: Optional[dict], digits: int = 3) -> str:
    if not stat:
        return '–'
    return f'{stat["mean"]:.{digits}f}' + (f' ± {stat["std"]:.{digits}f}' if stat['std'] is not None else '')


def _fmt_full(stat: Optional[dict], finished: int) -> str:
    """Full-image AP50, with its seed count where not every finished seed was evaluated (no --full-image since)."""
    return _fmt(stat) + (f' (n={stat["n"]})' if stat and stat['n'] < finished else '')


def _export_note(network: dict) -> Optional[str]:
    failed = network.get('export_failed')
    return f'no OpenVINO ms: the export failed ({failed})' if failed else None


def _fmt_exported(r: dict) -> str:
    exported, eager = r.get('exported_latency'), r['latency']
    if not exported:
        return '–'
    return f'{exported["median_ms"]:.1f} ({exported["median_ms"] / eager["median_ms"]:.2f}x)'


def format_study(result: dict) -> str:
    """The markdown of ``study.md`` from :func:`run_study`'s result."""
    rows, shape = result['rows'], result['shape']
    full = any(r['full_image_AP50'] for r in rows)
    head = ['row', 'group', 'seeds', 'mAP', 'AP50', f'AP50 − {GOAL_AP50}', 'APs', 'APm', 'params (M)', 'GFLOPs',
            'PyTorch ms', 'OpenVINO ms'] + (['full-image AP50'] if full else [])
    lines = [f'# Backbone study: the tree detector with each backbone / recipe (goal: AP50 >= {GOAL_AP50})', '',
             f'Val tiles, `tools/test.py` on the final checkpoint; mean ± sample std over the finished seeds of '
             f'{result["seeds"]} (written {result["written"]}).', '',
             '| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for r in rows:
        s = r['summary']
        n = len(r['per_seed'])
        seeds = f'{n}/{len(result["seeds"])}' + (' ⚠' if n < MIN_SEEDS else '')
        gap = f'{r["ap50_to_goal"]:+.3f}' if r['ap50_to_goal'] is not None else '–'
        cx, lat = r['complexity'], r['latency']
        cells = [r['name'], r['group'], seeds, *(_fmt(s.get(m)) for m in ('mAP', 'AP50')), gap,
                 *(_fmt(s.get(m)) for m in ('APs', 'APm')),
                 f'{cx["params"] / 1e6:.2f}' if cx else '–', f'{cx["flops"] / 1e9:.2f}' if cx else '–',
                 f'{lat["median_ms"]:.1f}' if lat else '–', _fmt_exported(r)] + \
            ([_fmt_full(r['full_image_AP50'], n)] if full else [])
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += ['', f'⚠ fewer than {MIN_SEEDS} finished seeds: no reliable spread yet (one seed shows no ±); seeds of '
              f'one config differ by about 0.05 AP50 (README, *Main job*).', '',
              f'`AP50 − {GOAL_AP50}`: distance of the mean AP50 to the goal (negative: below it). APs / APm: COCO '
              'small (< 32² px) / medium trees.', '',
              f'params / GFLOPs: the inference form (as PyTorch ms) at {shape[0]}x{shape[1]}, FLOPs = multiply-adds.']
    latencies = [r['latency'] for r in rows if r['latency']]
    if latencies:
        first = latencies[0]
        lines.append('\nPyTorch ms: ' + LATENCY_NOTE.format(h=shape[0], w=shape[1], repeats=first['repeats'],
                                                      warmup=first['warmup'])
                     + f'; {first["cpu"]}' + (f', load average {first["load_average"]:.1f} when measured'
                                               if first['load_average'] is not None else '') + '.')
        if any(r.get('exported_latency') for r in rows):
            lines.append(f'\n{EXPORTED_NOTE}.')
        sessions = sorted({lat['measured_at'] for lat in latencies})
        if len(sessions) > 1:
            lines.append(f'\nLatencies come from {len(sessions)} measurement sessions ({", ".join(sessions)}); compare '
                         'them across sessions with care, or time all rows together with --remeasure.')
    if full:
        lines.append(f'\nfull-image AP50: the held-out regions whole (`annotations/val_full.json`), sliced '
                     f'{FULL_IMAGE_SLICING["slice_size"]} px, NMS IoU {FULL_IMAGE_SLICING["match_thr"]}, '
                     f'{FULL_IMAGE_SLICING["overlap"]:.0%} overlap, up to {FULL_IMAGE_MAX_DETS} detections per image; '
                     f'mean ± std over the finished seeds.')
    notes = [f'{r["name"]}: {r["note"]}' for r in rows if r['note']]
    if notes:
        lines += ['', 'Notes:', *[f'* {n}' for n in notes]]
    return '\n'.join(lines) + '\n'


def plot_study(result: dict) -> bytes:
    """PNG of mean AP50 (± sample std) against the deployed network's CPU latency (OpenVINO ms; PyTorch ms where a
    row with results has none, GFLOPs where no row has a latency): one labelled point per row with results, the goal
    as a line."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in result['rows'] if r['summary']]
    shape = result['shape']
    if rows and all(r.get('exported_latency') for r in rows):
        field, xlabel = 'exported_latency', 'OpenVINO fp32'
    else:
        field, xlabel = 'latency', 'PyTorch, inference form,'
    by_latency = any(r[field] for r in rows)
    xlabel = f'CPU ms per {shape[0]}x{shape[1]} image ({xlabel} network only, median)' if by_latency else \
        f'GFLOPs at {shape[0]}x{shape[1]} (no latency measured)'

    def x_of(r):
        if by_latency:
            return r[field] and r[field]['median_ms']
        return r['complexity'] and r['complexity']['flops'] / 1e9
    shown = [r for r in rows if x_of(r)]
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for group, marker in (('backbone', 'o'), ('recipe', 's')):
        for r in (r for r in shown if r['group'] == group):
            ap50 = r['summary']['AP50']
            few = ap50['n'] < MIN_SEEDS
            ax.errorbar(x_of(r), ap50['mean'], yerr=ap50['std'] or 0, fmt=marker, capsize=3,
                        color='tab:blue' if group == 'backbone' else 'tab:orange', mfc='white' if few else None)
            ax.annotate(r['name'] + (f' (n={ap50["n"]})' if few else ''), (x_of(r), ap50['mean']), fontsize=7,
                        xytext=(4, 4), textcoords='offset points')
    ax.axhline(GOAL_AP50, color='tab:green', linestyle='--', label=f'goal AP50 {GOAL_AP50}')
    ax.plot([], [], 'o', color='tab:blue', label='backbone')
    ax.plot([], [], 's', color='tab:orange', label='recipe')
    ax.plot([], [], 'o', color='grey', mfc='white', label=f'hollow: < {MIN_SEEDS} seeds')
    ax.set_xlabel(xlabel)
    ax.set_ylabel('val AP50 (mean ± sample std over seeds)')
    missing = [r['name'] for r in result['rows'] if r not in shown]
    note = textwrap.fill(f'not shown (no result yet): {", ".join(missing)}', 110) if missing else ''
    ax.set_title('\n'.join(filter(None, ('Backbone study on the tree data', note))), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    buffer = BytesIO()
    fig.savefig(buffer, format='png', dpi=110)
    plt.close(fig)
    return buffer.getvalue()


class _Study:
    """The state of one :func:`run_study` call: loaded rows, cache, the schedule and the report."""

    def __init__(self, rows, seeds, root, repo, shape):
        self.root, self.repo, self.seeds, self.shape = root, repo, list(seeds), tuple(shape)
        self.rows = [_Row(row, repo, root) for row in rows]
        self.cache = _Measurements(root / 'measurements.json')
        self.notes: Dict[str, str] = {}
        self.failures: List[str] = []
        # --jobs: one report / cache write at a time, and never next to a config being loaded (mmengine's config
        # parsing and registry imports are not thread-safe)
        self.lock = threading.RLock()
        self._models: Dict[str, Tuple[str, nn.Module]] = {}
        self.broken: Dict[str, str] = {}  # row key -> why its inference form cannot be measured

    def model(self, row: _Row) -> Tuple[str, nn.Module]:
        """(signature, inference-form model with random weights), built once per call."""
        if row.row.key not in self._models:
            model = build_detector(load_config(row.inference_cfg()), deploy=True)
            self._models[row.row.key] = network_signature(model), model
        return self._models[row.row.key]

    def complexity(self, row: _Row) -> Optional[dict]:
        """Params and FLOPs of the row's inference form (None, with a note, where its forward fails)."""
        from .complexity import complexity_by_part
        signature, model = self.model(row)
        entry = self.cache.network(signature, self.shape)
        if 'complexity' not in entry and row.row.key not in self.broken:
            try:
                total = complexity_by_part(model, self.shape)['total']
            except Exception as error:  # one broken inference form must not cost the whole report
                self.broken[row.row.key] = f'inference form failed ({type(error).__name__}: {error})'
                print(f'[study] {row.row.name}: {self.broken[row.row.key]}; no params / GFLOPs / latency',
                      flush=True)
                return None
            entry['complexity'] = dict(params=int(total['params']), flops=int(total['flops']))
            self.cache.save()
        return entry.get('complexity')

    def measure_latency(self, remeasure: bool, repeats: int, warmup: int, threads: int) -> None:
        """Time every selected inference network without a cached latency (all with ``remeasure``), eager and
        exported (OpenVINO fp32), all in one interleaved rotation."""
        todo = {}
        for row in self.rows:
            signature, model = self.model(row)
            if row.row.key in self.broken or self.complexity(row) is None:  # its forward fails
                continue
            entry = self.cache.network(signature, self.shape)
            if remeasure or 'latency' not in entry or ('exported_latency' not in entry and
                                                       'export_failed' not in entry):
                todo.setdefault(signature, (row.row.key, model))
        if not todo:
            return
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            cpu = describe_cpu()
            calls, failed = {}, {}
            with tempfile.TemporaryDirectory() as tmp:
                for signature, (key, model) in todo.items():
                    calls[signature] = forward_call(model, self.shape)
                    try:
                        (Path(tmp) / signature).mkdir()
                        calls[f'{signature}/openvino'] = exported_call(model, self.shape, threads,
                                                                       str(Path(tmp) / signature))
                    except Exception as error:  # no runtime, or a network the exporter cannot trace: eager only
                        failed[signature] = f'{type(error).__name__}: {error}'.splitlines()[0][:300]
                        print(f'[study] {key}: no exported latency ({failed[signature]})', flush=True)
            print(f'[study] timing {len(todo)} inference networks at {self.shape[0]}x{self.shape[1]}, eager and '
                  f'exported, {repeats} rounds ({cpu})', flush=True)
            load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None  # not on Windows
            timed = interleaved_latency(calls, repeats, warmup)
        finally:
            torch.set_num_threads(previous)
        stamp = datetime.now().isoformat(timespec='seconds')
        for signature, (key, _) in todo.items():
            entry = self.cache.network(signature, self.shape)
            for field in ('latency', 'exported_latency', 'export_failed'):
                entry.pop(field, None)
            how = dict(threads=threads, repeats=repeats, warmup=warmup, cpu=cpu, load_average=load, measured_at=stamp,
                       first_row=key)
            entry['latency'] = dict(timed[signature], **how)
            if signature in failed:
                entry['export_failed'] = failed[signature]
            else:
                entry['exported_latency'] = dict(timed[f'{signature}/openvino'], runtime='openvino fp32', **how)
        self.cache.save()

    def measure_full_image(self, data_root: Path) -> None:
        for row in self.rows:
            for seed in self.seeds:
                run = row.seed_run(seed)
                if finished_metrics(run) is None or self.cache.full_image(row.row.key, seed, run.checkpoint):
                    continue
                if not run.checkpoint.is_file():
                    print(f'[study] full-image AP: {row.row.name}, seed {seed}: no checkpoint {run.checkpoint}, '
                          f'skipped', flush=True)
                    continue
                print(f'[study] full-image AP: {row.row.name}, seed {seed}', flush=True)
                self.cache.set_full_image(row.row.key, seed, run.checkpoint,
                                          full_image_metrics(row.cfg, str(run.checkpoint), str(data_root)))
                self.cache.save()

    def report(self) -> dict:
        """Summarise what is finished; write study.md / study.json / study.png."""
        with self.lock:
            rows = []
            for row in self.rows:
                per_seed = {seed: m for seed in self.seeds if (m := finished_metrics(row.seed_run(seed)))}
                numeric = summarise(per_seed) if per_seed else {}
                summary = {name: dict(numeric[key], std=numeric[key]['std'] if len(per_seed) > 1 else None)
                           for name, key in METRICS.items() if key in numeric}
                signature, _ = self.model(row)
                network = self.cache.network(signature, self.shape)
                full = [self.cache.full_image(row.row.key, s, row.seed_run(s).checkpoint) for s in per_seed]
                full = [f['AP50'] for f in full if f]
                rows.append(dict(key=row.row.key, name=row.row.name, group=row.row.group, config=row.row.config,
                                 per_seed=per_seed, summary=summary,
                                 ap50_to_goal=summary['AP50']['mean'] - GOAL_AP50 if 'AP50' in summary else None,
                                 complexity=self.complexity(row), latency=network.get('latency'),
                                 exported_latency=network.get('exported_latency'),
                                 full_image_AP50=_mean_std(full) if full else None, network=signature,
                                 note='; '.join(filter(None, (self.notes.get(row.row.key),
                                                              self.broken.get(row.row.key),
                                                              _export_note(network))))))
            result = dict(goal_ap50=GOAL_AP50, seeds=self.seeds, shape=list(self.shape), rows=rows,
                          written=datetime.now().isoformat(timespec='seconds'), failures=list(self.failures))
            result['markdown'] = format_study(result)
            write_text_atomically(str(self.root / 'study.md'), result['markdown'])
            write_text_atomically(str(self.root / 'study.json'),
                                  json.dumps({k: v for k, v in result.items() if k != 'markdown'}, indent=1))
            write_bytes_atomically(str(self.root / 'study.png'), plot_study(result))
            return result


@dataclass
class _Task:
    row: Optional[_Row]  # None: train the distillation teacher
    seed: Optional[int] = None

    @property
    def slot(self) -> str:  # tasks of one slot never run at once (one sweep folder, one summary.md)
        return self.row.row.key if self.row else 'teacher'


def _schedule(tasks: List[_Task], jobs: int, work: Callable[[_Task], None],
              blocked: Callable[[_Task], Optional[bool]], done: Callable[[_Task, bool], None],
              progress: Callable[[int], None]) -> None:
    """Run ``tasks`` in their order on ``jobs`` workers (in this thread for one).

    A task waits while another of its slot runs or ``blocked(task)`` is True, and is dropped when it is None. A task
    that raises is reported and counts as failed. After each task ``done(task, ok)`` updates what ``blocked`` reads
    (before any waiting task is looked at again), then ``progress(left)`` runs with the number of tasks not finished.
    """
    pending, busy, errors = list(tasks), set(), []
    condition = threading.Condition()

    def next_task() -> Optional[_Task]:
        with condition:
            while not errors:
                pending[:] = [t for t in pending if blocked(t) is not None]
                if not pending:
                    return None
                task = next((t for t in pending if t.slot not in busy and not blocked(t)), None)
                if task is not None:
                    pending.remove(task)
                    busy.add(task.slot)
                    return task
                if not busy:
                    raise RuntimeError(f'none of the {len(pending)} pending runs can start')
                condition.wait()
            return None

    def worker() -> None:
        try:
            while (task := next_task()) is not None:
                try:
                    work(task)
                    ok = True
                except Exception as error:  # a long unattended study goes on with the other rows
                    print(f'[study] FAILED: {task.slot}, seed {task.seed}: {type(error).__name__}: {error}',
                          flush=True)
                    ok = False
                with condition:
                    busy.discard(task.slot)
                    done(task, ok)
                    left = len(pending) + len(busy)
                    condition.notify_all()
                progress(left)
        except BaseException as error:  # re-raised by the caller's thread
            with condition:
                errors.append(error)
                condition.notify_all()
            if jobs == 1:
                raise

    if jobs == 1:
        worker()
        return
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def run_study(rows: Optional[Sequence[str]] = None, seeds: int = 3, root: str = 'work_dirs/study',
              threads: int = 2, jobs: int = 1, summarise_only: bool = False, latency: bool = True,
              remeasure: bool = False, repeats: int = 20, warmup: int = 3, full_image: bool = False,
              data_root: str = 'data/trees', train_teacher: bool = False, teacher: Optional[str] = None,
              shape: Sequence[int] = INPUT_SHAPE, repo: Path = REPO, python: str = sys.executable,
              run: Runner = _run_command) -> dict:
    """Train and test every (row, seed) not finished yet, seed-major, then measure and write the study's report.

    Args:
        rows (list[str], optional): Row keys or names (:func:`select_rows`); all rows by default.
        seeds (int): Seeds 0 .. seeds-1 per row.
        root (str): Study folder (runs in the seeds sweep's layout; see the module's docstring).
        threads (int): CPU threads: torch's for the latency and full-image measurements, and ``OMP_NUM_THREADS`` =
            threads / jobs for every training and test.
        jobs (int): Trainings at once (never two of one row).
        summarise_only (bool): Train nothing; report what is finished.
        latency (bool): Measure CPU latency where none is cached (cached values are shown either way).
        remeasure (bool): Time every selected row again, all together.
        repeats (int): Timed rounds. warmup (int): Untimed rounds first.
        full_image (bool): Also evaluate every finished checkpoint on the whole held-out regions (cached).
        data_root (str): Tree data, relative to ``repo`` unless absolute (for ``full_image``).
        train_teacher (bool): Train the distillation teacher first when its checkpoint is missing (else the
            distilled rows are skipped with a note).
        teacher (str, optional): Teacher checkpoint (default: the distillation configs' ``teacher_checkpoint``).
        shape (tuple): (H, W) of params / FLOPs / latency.
        repo (Path): The repository (configs, tools, relative paths of the configs).
        python (str): Interpreter of tools/train.py and tools/test.py.
        run (callable): ``run(command, env=..., cwd=...)`` runs one tool command (tests replace it).

    Returns:
        dict: ``rows`` (per row: per-seed metrics, ``summary`` {metric: mean / std / n}, ``ap50_to_goal``,
        ``complexity``, ``latency``, ``full_image_AP50``, ``note``), ``failures`` and the ``markdown`` of study.md.
    """
    selected = select_rows(rows)
    for name, value in (('seeds', seeds), ('threads', threads), ('jobs', jobs), ('repeats', repeats)):
        if value < 1:
            raise ValueError(f'{name} must be at least 1, got {value}')
    repo, root = Path(repo).resolve(), Path(root).resolve()
    data_root = repo / data_root
    if full_image and not (data_root / 'annotations' / 'val_full.json').is_file():
        raise FileNotFoundError(f'{data_root}/annotations/val_full.json not found: prepare the tree data (make data, '
                                f'or tools/dataset_converters/deepforest_to_coco.py) or give --data-root')
    study = _Study(selected, range(seeds), root, repo, shape)
    root.mkdir(parents=True, exist_ok=True)

    if not summarise_only:
        tasks = []
        for row, seed in study_order(study.rows, study.seeds):
            if finished_metrics(row.seed_run(seed), adopt=True) is not None:
                continue
            age = seconds_since_log(row.seed_run(seed))
            if age is not None and age < BUSY_S:
                print(f'[study] {row.row.name}, seed {seed}: left alone, its log was written {age:.0f} s ago (another '
                      f'process is running it?); rerun the study when it has finished, or after {BUSY_S // 60} '
                      f'minutes without a log line if that process is gone', flush=True)
                study.notes[row.row.key] = f'seed {seed} running elsewhere'
                continue
            tasks.append(_Task(row, seed))
        teacher_path = _teacher_path(study.rows, teacher, repo)
        needs_teacher = teacher_path is not None and not teacher_path.is_file() and \
            any(t.row.distilled for t in tasks)
        if needs_teacher and train_teacher:
            tasks.insert(next(i for i, t in enumerate(tasks) if t.row.distilled), _Task(None))
        elif needs_teacher:
            skipped = sorted({t.row.row.name for t in tasks if t.row.distilled})
            for row in study.rows:
                if row.distilled and any(t.row is row for t in tasks):
                    study.notes[row.row.key] = f'skipped: no teacher checkpoint {teacher_path}'
            tasks = [t for t in tasks if not t.row.distilled]
            print(f'[study] skipping {", ".join(skipped)}: the teacher checkpoint {teacher_path} is missing. Train '
                  f'it with --train-teacher (1000 iterations, about 30 min on 2 cores), or give an existing one '
                  f'with --teacher PATH.', flush=True)
        _train(study, tasks, jobs, threads, teacher_path, python, run)
    if latency or full_image:
        study.report()  # partial results first: measuring below takes a while
    if latency:
        study.measure_latency(remeasure, repeats, warmup, threads)
    if full_image:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            study.measure_full_image(data_root)
        finally:
            torch.set_num_threads(previous)
    result = study.report()
    print(result['markdown'], flush=True)
    print(f'[study] wrote {root}/study.md, study.json, study.png', flush=True)
    return result


def _teacher_path(rows: List[_Row], teacher: Optional[str], repo: Path) -> Optional[Path]:
    distilled = [row for row in rows if row.distilled]
    if not distilled:
        return None
    path = Path(teacher or distilled[0].cfg.model.teacher.checkpoint)
    return path if path.is_absolute() else repo / path


def _train(study: _Study, tasks: List[_Task], jobs: int, threads: int, teacher: Optional[Path], python: str,
           run: Runner) -> None:
    """Run the tasks (:func:`_schedule`), reporting and printing progress with an ETA after each."""
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, threads // jobs)))
    tools = study.repo / 'tools'
    state = dict(done=0, teacher_ok=teacher is None or teacher.is_file(), teacher_failed=False,
                 failed_rows=set(), start=time.time())
    total = len(tasks)
    print(f'[study] {total} runs to do ({len(study.rows)} rows x {len(study.seeds)} seeds, seed-major), {jobs} at '
          f'once, OMP_NUM_THREADS={env["OMP_NUM_THREADS"]}', flush=True)

    def work(task: _Task) -> None:
        if task.row is None:
            resume = ['--resume'] if (teacher.parent / 'last_checkpoint').is_file() else []
            print(f'[study] training the distillation teacher into {teacher.parent}', flush=True)
            run([python, str(tools / 'train.py'), str(study.repo / TEACHER_CONFIG), '--work-dir', str(teacher.parent),
                 *resume], env=env, cwd=str(study.repo))
            if not teacher.is_file():
                raise FileNotFoundError(f'training the teacher wrote no {teacher}: the teacher config\'s final '
                                        f'checkpoint has another name; give it with --teacher')
            return
        row = task.row
        print(f'[study] {row.row.name}, seed {task.seed}', flush=True)
        # the row's finished seeds too, so that run_seeds' summary.md covers them all; only this one is run
        seeds = sorted({s for s in study.seeds if finished_metrics(row.seed_run(s))} | {task.seed})
        options = [f'model.teacher.checkpoint={teacher}'] if row.distilled else []
        held = [study.lock.acquire()]  # while run_seeds loads the config; released at its first command

        def run_command(command: List[str]) -> None:
            if held:
                study.lock.release()
                held.clear()
            run(command, env=env, cwd=str(study.repo))

        try:
            run_seeds(str(row.config), str(tools), seeds, str(study.root), options, python=python, run=run_command)
        finally:
            if held:
                study.lock.release()

    def blocked(task: _Task) -> Optional[bool]:
        if task.row is None:
            return False
        if task.row.row.key in state['failed_rows'] or (task.row.distilled and state['teacher_failed']):
            return None
        return task.row.distilled and not state['teacher_ok']

    def done(task: _Task, ok: bool) -> None:
        state['done'] += 1
        if task.row is None:
            state['teacher_ok'], state['teacher_failed'] = ok, not ok
            if not ok:
                study.failures.append(f'teacher ({TEACHER_CONFIG})')
                for row in study.rows:
                    if row.distilled:
                        study.notes[row.row.key] = 'skipped: training the teacher failed'
        elif not ok:
            state['failed_rows'].add(task.row.row.key)
            study.failures.append(f'{task.row.row.name}, seed {task.seed}')
            study.notes[task.row.row.key] = f'seed {task.seed} failed (its later seeds skipped); rerun to retry'

    def progress(left: int) -> None:
        study.report()
        if left:
            pace = (time.time() - state['start']) / state['done']
            print(f'[study] {state["done"]} runs done this session, {left} to go: about {pace * left / 60:.0f} min '
                  f'left ({pace / 60:.1f} min per run, {jobs} at once)', flush=True)

    _schedule(tasks, jobs, work, blocked, done, progress)
