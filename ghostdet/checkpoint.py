"""Checkpoint loading for ghostdet.

Two concerns live here:

* **Safe loading of mmengine's own checkpoints on torch >= 2.6.** ``torch.load`` defaults to
  ``weights_only=True``; mmengine 0.10.7 calls it without the argument, and its checkpoints pickle a
  ``HistoryBuffer`` (message hub) and numpy scalars/arrays (meta), so test, resume and ``load_from`` fail.
  :func:`install_safe_checkpoint_loading` (run on ``import ghostdet``) replaces mmengine's local-file loader
  with one that keeps ``weights_only=True`` and allow-lists exactly those types, scoped to that one call:
  ``torch.load`` elsewhere is untouched, and arbitrary callables (``os.system`` ...) are still refused.
* **Foreign backbone checkpoints** (official / timm / torchvision / mmpretrain layouts): unwrapping,
  key conversion and a strict check that every parameter of the backbone is covered
  (:func:`load_pretrained`). A checkpoint that does not fit raises :class:`CheckpointMismatchError`; it is
  never half-loaded.
"""
import codecs
import collections
import inspect
import os.path as osp
import pickle
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np
import torch
import torch.nn as nn

__all__ = ['CheckpointMismatchError', 'mmengine_checkpoint_globals', 'install_safe_checkpoint_loading',
           'load_from_local_safe', 'extract_state_dict', 'load_pretrained', 'load_state_dict_strict']


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model it is loaded into."""


def _history_buffer_attribute(owner, name: str):
    """Stand-in for ``builtins.getattr`` while loading an mmengine checkpoint.

    ``HistoryBuffer`` keeps its statistics methods (``HistoryBuffer.min`` ...) in a dict that pickle writes as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing the real ``getattr`` would let a checkpoint look up any
    attribute of anything it can build; this one resolves only those methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    statistics = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and name in statistics:
        return getattr(owner, name)
    raise pickle.UnpicklingError(f'checkpoint asks for getattr({owner!r}, {name!r}); only HistoryBuffer '
                                 f'statistics methods may be looked up')


def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals that mmengine 0.10.7 pickles into its checkpoints.

    ``HistoryBuffer`` (message hub logs) and its statistics methods, numpy arrays/scalars and their dtypes
    (meta and logs, numpy 1 or 2 module paths), ``collections.Counter`` and ``codecs.encode`` (used by numpy to
    pickle raw bytes).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        multiarray = np._core.multiarray  # numpy >= 2
    except AttributeError:  # pragma: no cover - numpy 1.x
        multiarray = np.core.multiarray
    dtype_classes = [obj for obj in vars(getattr(np, 'dtypes', object)).values()
                     if inspect.isclass(obj) and issubclass(obj, np.dtype)]
    return [HistoryBuffer, (_history_buffer_attribute, 'builtins.getattr'), multiarray._reconstruct,
            multiarray.scalar, np.ndarray, np.dtype, *dtype_classes, collections.Counter, codecs.encode]


def load_from_local_safe(filename: str, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` that also accepts what mmengine writes into checkpoints."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        return torch.load(filename, map_location=map_location, weights_only=True)


def install_safe_checkpoint_loading() -> None:
    """Route mmengine's local checkpoint loading (test, resume, ``load_from``, ``Pretrained``) through
    :func:`load_from_local_safe`. Idempotent."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    mmengine_checkpoint.CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_safe)
    mmengine_checkpoint.load_from_local = load_from_local_safe


_WRAPPER_KEYS = ('state_dict', 'model', 'module', 'net')
_THOP_SUFFIXES = ('total_ops', 'total_params')  # buffers left by the thop profiler in official checkpoints


def extract_state_dict(checkpoint, use_ema: bool = False, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The flat ``{name: tensor}`` mapping inside a checkpoint of any common layout.

    Args:
        checkpoint: What ``torch.load`` returned: a state dict, or a dict wrapping one under ``state_dict``,
            ``model``, ... (``state_dict_ema`` holds EMA weights in the official GhostNetV3 file).
        use_ema (bool): Take ``state_dict_ema``; an error if the checkpoint has none.
        prefix (str, optional): Keep only keys starting with this prefix and strip it (e.g. ``'backbone.'``
            for an mmdet/mmpretrain model). By default ``backbone.`` is selected automatically when present.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(f'expected a dict (state dict or wrapper), got {type(checkpoint).__name__}')
    if use_ema:
        if 'state_dict_ema' not in checkpoint:
            raise CheckpointMismatchError(
                f'use_ema=True but the checkpoint has no "state_dict_ema" entry (top-level keys: '
                f'{sorted(checkpoint)[:10]}); set use_ema=False')
        state = checkpoint['state_dict_ema']
    else:
        state = next((checkpoint[k] for k in _WRAPPER_KEYS if isinstance(checkpoint.get(k), dict)), checkpoint)
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()
             if not k.endswith(_THOP_SUFFIXES)}
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not selected:
            raise CheckpointMismatchError(f'no key of the checkpoint starts with prefix {prefix!r}')
        state = selected
    non_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise CheckpointMismatchError(f'not a state dict: entries {non_tensors[:5]} are not tensors')
    return state


def _preview(keys: Iterable[str], limit: int = 8) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:limit]) + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def load_state_dict_strict(module: nn.Module, state_dict: Dict[str, torch.Tensor], source: str = 'checkpoint',
                           hint: str = '') -> None:
    """Load ``state_dict`` into ``module`` only if it covers every parameter and buffer with the right shape.

    ``num_batches_tracked`` buffers may be absent (older checkpoints do not store them). Otherwise any
    missing, unexpected or mis-shaped key raises :class:`CheckpointMismatchError` listing them.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [f'{k} {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}'
                  for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape]
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f'{len(missing)} missing keys: {_preview(missing)}')
        if unexpected:
            problems.append(f'{len(unexpected)} unexpected keys: {_preview(unexpected)}')
        if mismatched:
            problems.append(f'{len(mismatched)} shape mismatches: {_preview(mismatched, 4)}')
        raise CheckpointMismatchError(
            f'{type(module).__name__}: {source} does not fit the model; nothing was loaded.\n  '
            + '\n  '.join(problems) + (f'\n  {hint}' if hint else ''))
    module.load_state_dict({k: v for k, v in state_dict.items()}, strict=False)


def load_pretrained(module: nn.Module, checkpoint: str, convert: Optional[Callable] = None, use_ema: bool = False,
                    prefix: Optional[str] = None, map_location='cpu', hint: str = '') -> None:
    """Load a backbone checkpoint file (any supported layout) strictly into ``module``.

    Args:
        module: The backbone.
        checkpoint (str): Path (or an mmengine-supported URI) of the checkpoint.
        convert (callable, optional): Maps the extracted state dict to the module's key names (and drops
            classifier keys); it may raise :class:`CheckpointMismatchError` for layouts it refuses.
        use_ema, prefix: See :func:`extract_state_dict`.
        hint (str): Appended to the error message when the checkpoint does not fit.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    state = extract_state_dict(raw, use_ema=use_ema, prefix=prefix)
    if convert is not None:
        state = convert(state)
    load_state_dict_strict(module, state, source=f'checkpoint {checkpoint!r}', hint=hint)
