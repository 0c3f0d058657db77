"""Latency: timed forwards of one generated image, interleaved comparisons, and what the numbers were measured on."""
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .detector import dummy_batch


def forward_call(model: nn.Module, shape: Sequence[int], mode: str = 'tensor', device: str = 'cpu') -> Callable:
    """The model's forward of one generated image of ``shape`` (H, W), as a function of no arguments.

    ``mode='tensor'``: the network (backbone, neck, head; for two-stage detectors RPN proposals and RoI head);
    ``'predict'``: also box decoding and NMS (meaningful with trained weights: random weights give random box counts).
    """
    data = dummy_batch(model, shape, device)
    return partial(model, data['inputs'], data['data_samples'], mode=mode)


def measure_latency(model: nn.Module, shape: Sequence[int], repeats: int = 20, warmup: int = 3,
                    mode: str = 'tensor', device: str = 'cpu') -> List[float]:
    """Milliseconds per forward (:func:`forward_call`) of one image of ``shape``, ``repeats`` times after ``warmup``
    runs."""
    run = forward_call(model, shape, mode, device)
    sync = torch.cuda.synchronize if torch.device(device).type == 'cuda' else (lambda: None)
    times = []
    with torch.inference_mode():
        for step in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            run()
            sync()
            if step >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return times


def latency_summary(times_ms: Sequence[float]) -> Dict[str, float]:
    """Median and 90th percentile (ms / image) and the FPS at the median."""
    median = statistics.median(times_ms)
    return dict(median_ms=median, p90_ms=float(np.percentile(times_ms, 90)), fps=1e3 / median)


@torch.inference_mode()
def interleaved_latency(calls: Dict[str, Callable[[], object]], repeats: int = 20,
                        warmup: int = 3) -> Dict[str, Dict[str, float]]:
    """:func:`latency_summary` (median / p90 ms) of each call, every call timed once per round, in rotating order,
    so that load on the machine affects all alike.

    Args:
        calls (dict): Name -> function of no arguments (e.g. :func:`forward_call`).
        repeats (int): Timed rounds. warmup (int): Untimed rounds first.
    """
    names = list(calls)
    times = {name: [] for name in names}
    for step in range(warmup + repeats):
        shift = step % len(names)  # rotate: no call always runs right after the same one
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            if step >= warmup:
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: latency_summary(t) for name, t in times.items()}


def interleaved_median_ms(first: Callable, second: Callable, x: torch.Tensor, repeats: int,
                          warmup: int = 3) -> Tuple[float, float]:
    """Median ms of ``first(x)`` and ``second(x)``, timed in alternation (:func:`interleaved_latency`)."""
    timed = interleaved_latency(dict(first=partial(first, x), second=partial(second, x)), repeats, warmup)
    return timed['first']['median_ms'], timed['second']['median_ms']


def describe_cpu() -> str:
    """The CPU model, torch's thread count and torch version: what a CPU latency was measured with."""
    cpuinfo = Path('/proc/cpuinfo')
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    name = next((line.split(':', 1)[1].strip() for line in lines if line.startswith('model name')),
                platform.processor() or 'unknown CPU')
    return f'{name}, {torch.get_num_threads()} torch threads, torch {torch.__version__}'


def print_progress(done: int, total: int, start: float, what: str) -> None:
    """One line on stderr: ``[done/total] what``, elapsed time and the remaining time at the pace so far."""
    elapsed = time.perf_counter() - start
    eta = elapsed / done * (total - done)
    print(f'[{done}/{total}] {what}: {elapsed:.0f} s elapsed, ETA {eta:.0f} s', file=sys.stderr, flush=True)
