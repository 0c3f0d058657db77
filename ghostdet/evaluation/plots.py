"""Plots of a small-object evaluation: AP and recall against object size, TIDE errors per size, confusion matrix."""
from typing import Dict, List

import numpy as np

from .error_analysis import TIDE_TYPES

# sqrt(area) bin edges of the size plot (px); the last bin is open
SIZE_EDGES = (0, 4, 8, 16, 32, 64, 128, 256, 512)


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return matplotlib, plt


def size_bins(max_edge_px=SIZE_EDGES) -> Dict[str, tuple]:
    """Log-scale sqrt(area) bins as area ranges ``{'px4to8': (16, 64), ...}``."""
    edges = list(max_edge_px) + [1e5]
    return {(f'px{lo}to{hi}' if hi < 1e5 else f'px{lo}up'): (lo ** 2, hi ** 2) for lo, hi in zip(edges[:-1], edges[1:])}


def plot_size_curves(curves: Dict[str, dict], max_dets: int, path: str) -> None:
    """AP and recall@0.5 against object size (log x), one line per results file; ``curves`` maps a label to the
    summary of an evaluation on :func:`size_bins`."""
    matplotlib, plt = _pyplot()
    bins = size_bins()
    centres = [np.sqrt(max(lo, 1.0) ** .5 * (hi ** .5 if hi < 1e10 else 2 * lo ** .5)) for lo, hi in bins.values()]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, stats in curves.items():
        for ax, key in zip(axes, ('AP', 'R50')):
            values = np.array([stats[f'{key}_{name}'] for name in bins], dtype=float)
            values[values < 0] = np.nan  # no ground truth of that size
            ax.plot(centres, values, marker='o', label=label)
    counts = next(iter(curves.values()))
    for ax, title in zip(axes, (f'AP@[.5:.95] (maxDets {max_dets})', f'recall at IoU 0.5 (maxDets {max_dets})')):
        ax.set_xscale('log', base=2)
        ax.set_xticks(list(SIZE_EDGES[1:]))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel('object size sqrt(area) [px]')
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        for x, name in zip(centres, bins):
            ax.annotate(str(counts[f'num_gt_{name}']), (x, 0.02), ha='center', fontsize=7, color='grey')
    axes[0].legend()
    fig.suptitle('AP and recall vs object size (grey: ground-truth count per bin)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_errors(errors: Dict[str, dict], confusion: dict, path_prefix: str) -> List[str]:
    """``<prefix>tide_errors.png`` (error counts and dAP per size range) and ``<prefix>confusion_matrix.png``."""
    _, plt = _pyplot()
    paths = []
    names = list(errors)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / len(TIDE_TYPES)
    x = np.arange(len(names))
    for i, t in enumerate(TIDE_TYPES):
        share = [errors[n]['counts'][t] / max(1, errors[n]['num_fp'] + errors[n]['counts']['Miss']) for n in names]
        axes[0].bar(x + i * width, share, width, label=t)
        axes[1].bar(x + i * width, [errors[n]['dAP'][t] for n in names], width, label=t)
    for ax, title in zip(axes, ('share of all errors (FP + missed)', 'AP50 gained when fixed (dAP)')):
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels([f'{n}\n#GT {errors[n]["num_gt"]}' for n in names])
        ax.set_title(title)
        ax.grid(True, axis='y', alpha=0.3)
    axes[0].legend(ncol=3, fontsize=8)
    fig.suptitle('TIDE errors per object size')
    fig.tight_layout()
    paths.append(f'{path_prefix}tide_errors.png')
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    matrix, labels = confusion['matrix'], confusion['names'] + ['(none)']
    size = 2.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    shown = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    im = ax.imshow(shown, cmap='Blues', vmin=0, vmax=1)
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            ax.text(j, i, str(n), ha='center', va='center', fontsize=8, color='white' if shown[i, j] > .5 else 'black')
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha='right')
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel('predicted (none: missed object)')
    ax.set_ylabel('ground truth (none: detection of nothing)')
    ax.set_title(f'confusion at IoU >= {confusion["iou_thr"]}, score >= {confusion["min_score"]} (colour: row share)')
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    paths.append(f'{path_prefix}confusion_matrix.png')
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
