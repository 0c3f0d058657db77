"""Writing converted checkpoints and configs: never over an input, never over an existing file without ``force``,
never half-written under the final name (each file is written next to its target, then renamed into place)."""
import io
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.config import Config

from ..fileio import write_bytes_atomically


def check_output_paths(out_checkpoint: str, out_config: Optional[str], checkpoint: str, force: bool = False) -> None:
    """Raise before any work if an output is the input ``checkpoint``, ``out_config`` is not a ``.py`` file (what
    ``tools/train.py`` / ``tools/test.py`` read back), or an output exists and ``force`` is False.

    Raises:
        ValueError: An output path is unusable. FileExistsError: An output exists and ``force`` is False.
    """
    if out_config and not out_config.endswith('.py'):
        raise ValueError(f'out_config {out_config!r} must be a .py file')
    outputs = [path for path in (out_checkpoint, out_config) if path]
    if any(osp.abspath(path) == osp.abspath(checkpoint) for path in outputs):
        raise ValueError(f'an output path is the input checkpoint {checkpoint!r}; write the result elsewhere')
    existing = [path for path in outputs if osp.exists(path)]
    if existing and not force:
        raise FileExistsError(f'{", ".join(existing)} already exist(s); choose other paths or pass --force '
                              f'(force=True) to overwrite')


def save_checkpoint_file(state_dict: Dict[str, torch.Tensor], meta: dict, path: str) -> None:
    """Write ``{'meta': meta, 'state_dict': state_dict}`` (CPU tensors) as mmengine writes its checkpoints."""
    buffer = io.BytesIO()
    torch.save({'meta': meta, 'state_dict': {k: v.detach().cpu() for k, v in state_dict.items()}}, buffer)
    write_bytes_atomically(path, buffer.getvalue())


def save_config_file(config: Config, path: str) -> None:
    """Write ``config`` as a ``.py`` config file."""
    write_bytes_atomically(path, config.pretty_text.encode())
