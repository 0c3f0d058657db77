"""Foreign backbone checkpoints (official / timm / torchvision / mmpretrain layouts).

Unwrapping, key conversion and a strict check that every parameter of the backbone is covered
(:func:`load_pretrained`). A checkpoint that does not fit raises :class:`CheckpointMismatchError`; it is never
half-loaded. (mmengine's own checkpoints load through :mod:`ghostdet.engine.safe_load`.)
"""
from typing import Callable, Dict, Iterable, Optional

import torch
import torch.nn as nn

__all__ = ['CheckpointMismatchError', 'extract_state_dict', 'load_pretrained', 'load_state_dict_strict']


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model it is loaded into."""


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


def preview_keys(keys: Iterable[str], limit: int = 8) -> str:
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
            problems.append(f'{len(missing)} missing keys: {preview_keys(missing)}')
        if unexpected:
            problems.append(f'{len(unexpected)} unexpected keys: {preview_keys(unexpected)}')
        if mismatched:
            problems.append(f'{len(mismatched)} shape mismatches: {preview_keys(mismatched, 4)}')
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
