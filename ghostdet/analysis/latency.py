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


def measure_latency(model: nn.Module, shape: Sequence[int], repeats: int = 20, warmup: int = 3,
                    mode: str = 'tensor', device: str = 'cpu') -> List[float]:
    """Milliseconds per forward of one image of ``shape``, ``repeats`` times after ``warmup`` runs.

    ``mode='tensor'``: the network (backbone, neck, head; for two-stage detectors RPN proposals and RoI head);
    ``'predict'``: also box decoding and NMS (meaningful with trained weights: random weights give random box counts).
    """
    data = dummy_batch(model, shape, device)
    run = partial(model, data['inputs'], data['data_samples'], mode=mode)
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
def interleaved_median_ms(first: Callable, second: Callable, x: torch.Tensor, repeats: int,
                          warmup: int = 3) -> Tuple[float, float]:
    """Median ms of ``first(x)`` and ``second(x)``, timed in alternation so that load on the machine affects both
    alike."""
    for _ in range(warmup):
        first(x), second(x)
    times = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((first, second), times):
            start = time.perf_counter()
            fn(x)
            bucket.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


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
