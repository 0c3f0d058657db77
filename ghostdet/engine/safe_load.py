"""Loading mmengine's own checkpoints on torch >= 2.6 with ``weights_only`` kept on.

``torch.load`` defaults to ``weights_only=True`` since torch 2.6. mmengine 0.10.7 calls it without the argument, and
the checkpoints it writes pickle a ``HistoryBuffer`` (message hub) and numpy scalars / arrays (meta), so
``tools/test.py``, ``--resume`` and ``load_from`` fail (mmengine issue 1655; the fix is not released).
:func:`install_safe_checkpoint_loading` (a patch in :mod:`ghostdet.patches`) makes mmengine's local-file loader
:func:`load_from_local_safe`, which keeps ``weights_only=True`` and allow-lists exactly those types, scoped to that
one call: ``torch.load`` elsewhere is untouched, and arbitrary callables (``os.system`` ...) are still refused.
"""
import codecs
import collections
import inspect
import os.path as osp
import pickle
import zipfile

import numpy as np
import torch

__all__ = ['NotACheckpointError', 'check_checkpoint_file', 'mmengine_checkpoint_globals', 'load_from_local_safe',
           'install_safe_checkpoint_loading']


class NotACheckpointError(ValueError):
    """A file that ``torch.save`` did not write (or that was cut short)."""


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


def check_checkpoint_file(filename: str) -> None:
    """Raise :class:`NotACheckpointError` unless ``filename`` looks like a file ``torch.save`` wrote.

    ``torch.save`` writes a zip archive (torch >= 1.6) or, in the legacy format, a pickle (first byte 0x80).
    Anything else would fail deep inside the unpickler with a message such as ``KeyError: 101`` (the byte
    value of the text file's first character).
    """
    with open(filename, 'rb') as file:
        head = file.read(4)
    if zipfile.is_zipfile(filename) or head[:1] == b'\x80':
        return
    if not head:
        raise NotACheckpointError(f'{filename!r} is empty, not a PyTorch checkpoint (was its writing interrupted?)')
    if head.startswith(b'PK'):
        raise NotACheckpointError(f'{filename!r} is a damaged or truncated zip archive, not a complete PyTorch '
                                  f'checkpoint (was its writing interrupted?)')
    raise NotACheckpointError(f'{filename!r} is not a PyTorch checkpoint (torch.save writes a zip archive; this '
                              f'file starts with {head!r}). Give the .pth file itself.')


def load_from_local_safe(filename: str, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` that also accepts what mmengine writes into checkpoints."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    check_checkpoint_file(filename)
    with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
        return torch.load(filename, map_location=map_location, weights_only=True)


def install_safe_checkpoint_loading() -> None:
    """Route mmengine's local checkpoint loading (test, resume, ``load_from``, ``Pretrained``) through
    :func:`load_from_local_safe`. Idempotent."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    mmengine_checkpoint.CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_safe)
    mmengine_checkpoint.load_from_local = load_from_local_safe
