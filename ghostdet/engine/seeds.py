"""Train and evaluate a config for several seeds, resumably, and summarise every metric as mean ± std.

Layout (one training work dir per seed, the same a user gets from plain ``tools/train.py``)::

    <root>/<config-stem>/seed<k>/          tools/train.py CONFIG --work-dir ... --cfg-options randomness.seed=k
    <root>/<config-stem>/seed<k>/test/     tools/test.py CONFIG <final checkpoint> --work-dir ...
    <root>/<config-stem>/seed<k>/test_metrics.json     the metrics tools/test.py logged
    <root>/<config-stem>/summary.md, summary.json      per-seed values, mean ± std

A seed whose final checkpoint exists (named by ``last_checkpoint``, or ``iter_<max_iters>.pth`` /
``epoch_<max_epochs>.pth``) is not trained again, and one with ``test_metrics.json`` or a finished ``tools/test.py``
run of that checkpoint under ``test/`` is not evaluated again, so an
interrupted sweep continues where it stopped, and runs made by hand with that layout are picked up; a seed with an
unfinished training run is resumed (``--resume``). The seed a finished checkpoint was trained with is checked
against its folder name.
"""
import argparse
import json
import os.path as osp
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..fileio import write_text_atomically

__all__ = ['SeedRun', 'final_checkpoint_name', 'finished_test', 'summarise', 'format_summary', 'run_seeds']


def final_checkpoint_name(cfg) -> str:
    """File name of the checkpoint mmengine's CheckpointHook writes at the end of training (``save_last``)."""
    train_cfg = cfg.train_cfg
    by_epoch = train_cfg.get('by_epoch', train_cfg.get('type') != 'IterBasedTrainLoop')
    return f'epoch_{train_cfg.max_epochs}.pth' if by_epoch else f'iter_{train_cfg.max_iters}.pth'


class SeedRun:
    """One seed's folder: what is finished there.

    Args:
        work_dir (str): ``<root>/<config-stem>/seed<k>``.
        seed (int): The seed.
        final_name (str): The final checkpoint's file name.
    """

    def __init__(self, work_dir: str, seed: int, final_name: str):
        self.work_dir, self.seed, self.final_name = Path(work_dir), seed, final_name

    @property
    def checkpoint(self) -> Path:
        return self.work_dir / self.final_name

    @property
    def metrics_file(self) -> Path:
        return self.work_dir / 'test_metrics.json'

    def trained(self) -> bool:
        """The final checkpoint exists and the run's ``last_checkpoint`` (if any) names it."""
        record = self.work_dir / 'last_checkpoint'
        if record.is_file() and Path(record.read_text().strip()).name != self.final_name:
            return False
        return self.checkpoint.is_file()

    def started(self) -> bool:
        return (self.work_dir / 'last_checkpoint').is_file()

    def check_seed(self) -> None:
        """Refuse a finished checkpoint that another seed produced (e.g. a run copied into the wrong folder)."""
        from .safe_load import load_from_local_safe
        seed = load_from_local_safe(str(self.checkpoint)).get('meta', {}).get('seed')
        if seed is not None and int(seed) != self.seed:
            raise ValueError(f'{self.checkpoint} was trained with seed {seed}, not {self.seed} as its folder '
                             f'{self.work_dir.name} says; move it or train it again')

    def metrics(self) -> Optional[Dict[str, float]]:
        if not self.metrics_file.is_file():
            return None
        return json.loads(self.metrics_file.read_text())


_NOT_METRICS = {'step', 'time', 'data_time', 'memory', 'lr', 'epoch', 'iter'}  # also in the test log


def _numeric(metrics: Dict) -> Dict[str, float]:
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in _NOT_METRICS}


def summarise(per_seed: Dict[int, Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    """``{metric: {'mean', 'std', 'n'}}`` over the seeds' numeric metrics; ``std`` is the sample standard deviation
    (``ddof=1``; 0 for a single seed). Every seed must report the same metrics."""
    if not per_seed:
        raise ValueError('no finished seed to summarise')
    metrics = [_numeric(m) for m in per_seed.values()]
    names = list(metrics[0])
    for seed, m in zip(per_seed, metrics):
        if set(m) != set(names):
            raise ValueError(f'seed {seed} reports metrics {sorted(m)}, other seeds {sorted(names)}')
    summary = {}
    for name in names:
        values = np.array([m[name] for m in metrics])
        summary[name] = dict(mean=float(values.mean()), std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                             n=len(values))
    return summary


def format_summary(title: str, per_seed: Dict[int, Dict[str, float]], summary: Dict[str, Dict[str, float]],
                   digits: int = 3) -> str:
    """A markdown table: one row per seed, then mean ± std."""
    names = list(summary)
    header = [f'| {title} | ' + ' | '.join(names) + ' |', '|---' * (len(names) + 1) + '|']
    rows = [f'| seed {seed} | ' + ' | '.join(f'{_numeric(m)[n]:.{digits}f}' for n in names) + ' |'
            for seed, m in per_seed.items()]
    n = next(iter(summary.values()))['n']
    rows.append(f'| mean ± std (n={n}) | '
                + ' | '.join(f'{s["mean"]:.{digits}f} ± {s["std"]:.{digits}f}' for s in summary.values()) + ' |')
    return '\n'.join(header + rows) + '\n'


def _run(command: List[str]) -> None:
    print('+ ' + ' '.join(command), flush=True)
    subprocess.run(command, check=True)


def finished_test(test_dir: Path, checkpoint: Path) -> Optional[Path]:
    """The metrics JSON of the newest finished ``tools/test.py`` run of ``checkpoint`` under ``test_dir``.

    mmengine's LoggerHook dumps the metrics to ``<timestamp>/<timestamp>.json`` at the end of a test; the run's
    log next to it names the checkpoint it loaded (``Load checkpoint from PATH``).
    """
    for metrics in sorted(test_dir.glob('*/*.json'), key=lambda p: p.stat().st_mtime, reverse=True):
        log = metrics.with_suffix('.log')
        loaded = re.findall(r'Load checkpoint from (.+)$', log.read_text(errors='replace'), flags=re.M) \
            if log.is_file() else []
        if loaded and osp.realpath(loaded[-1].strip()) == osp.realpath(checkpoint):
            return metrics
    return None


def run_seeds(config: str, tools_dir: str, seeds: Sequence[int] = (0, 1, 2), root: str = 'work_dirs/seeds',
              cfg_options: Sequence[str] = (), python: str = sys.executable,
              run: Callable[[List[str]], None] = _run) -> Dict:
    """Train and test ``config`` once per seed (skipping what is finished) and summarise the metrics.

    Args:
        config (str): Config file.
        tools_dir (str): Folder with ghostdet's ``train.py`` and ``test.py``.
        seeds (Sequence[int]): Seeds (``randomness.seed``).
        root (str): Sweep folder; the runs go to ``root/<config stem>/seed<k>``.
        cfg_options (Sequence[str]): ``key=value`` overrides for both training and testing.
        python (str): Interpreter that runs ``tools/train.py`` / ``tools/test.py``.
        run (callable): Runs one command (tests replace it).

    Returns:
        dict: ``per_seed`` metrics, ``summary`` (see :func:`summarise`) and the ``markdown`` table, also written to
        ``summary.md`` / ``summary.json`` in the config's sweep folder.
    """
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(config)
    options = list(cfg_options)
    if options:  # parsed as tools/train.py parses them, to find the final checkpoint's name
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    stem = osp.splitext(osp.basename(config))[0]
    sweep = Path(root) / stem
    runs = [SeedRun(sweep / f'seed{seed}', seed, final_checkpoint_name(cfg)) for seed in seeds]
    started_at, worked = time.time(), 0
    for index, seed_run in enumerate(runs):
        todo = [r for r in runs[index:] if r.metrics() is None]
        if worked and todo:
            eta = (time.time() - started_at) / worked * len(todo)
            print(f'[seeds] {index}/{len(runs)} seeds done; about {eta / 60:.0f} min left for {len(todo)}',
                  flush=True)
        if seed_run.metrics() is not None:
            print(f'[seeds] seed {seed_run.seed}: finished earlier ({seed_run.metrics_file})', flush=True)
            continue
        seed_options = ['--cfg-options', f'randomness.seed={seed_run.seed}', *options]
        if seed_run.trained():
            print(f'[seeds] seed {seed_run.seed}: trained earlier ({seed_run.checkpoint}), testing', flush=True)
        else:
            print(f'[seeds] seed {seed_run.seed}: training ({index + 1}/{len(runs)})', flush=True)
            resume = ['--resume'] if seed_run.started() else []
            run([python, str(Path(tools_dir) / 'train.py'), config, '--work-dir', str(seed_run.work_dir), *resume,
                 *seed_options])
        seed_run.check_seed()
        test_dir = seed_run.work_dir / 'test'
        if finished_test(test_dir, seed_run.checkpoint) is None:
            run([python, str(Path(tools_dir) / 'test.py'), config, str(seed_run.checkpoint), '--work-dir',
                 str(test_dir), *seed_options])
        metrics = finished_test(test_dir, seed_run.checkpoint)
        if metrics is None:
            raise FileNotFoundError(f'tools/test.py wrote no metrics of {seed_run.checkpoint} under {test_dir}')
        write_text_atomically(str(seed_run.metrics_file), metrics.read_text())
        worked += 1
    per_seed = {r.seed: r.metrics() for r in runs}
    summary = summarise(per_seed)
    markdown = format_summary(stem, per_seed, summary)
    write_text_atomically(str(sweep / 'summary.md'), markdown)
    write_text_atomically(str(sweep / 'summary.json'),
                          json.dumps(dict(config=config, per_seed=per_seed, summary=summary), indent=2))
    return dict(per_seed=per_seed, summary=summary, markdown=markdown)
