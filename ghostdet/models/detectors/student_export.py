"""The student of a trained :class:`DistillationDetector` as a plain mmdet detector: no teacher, no adapters.

The exported config is the distillation config with ``model`` replaced by ``model.student`` (data, evaluators and
runtime kept); the exported checkpoint holds the ``student.*`` weights without the prefix, checked to load strictly
into that student. The teacher is never built or loaded. With an EMA hook the checkpoint's ``state_dict`` already
holds the averaged weights (mmengine swaps them in when saving), so the export is the EMA student, as
``tools/test.py`` would evaluate it.
"""
import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import CheckpointLoader

from ...checkpoint import CheckpointMismatchError, extract_state_dict, load_state_dict_strict
from ...engine.output_files import check_output_paths, save_checkpoint_file, save_config_file

STUDENT_PREFIX = 'student.'


def student_config(config: Config) -> Config:
    """``config`` with its DistillationDetector ``model`` replaced by the student's model dict."""
    if config.model.get('type') != 'DistillationDetector':
        raise ValueError(f'expected a DistillationDetector config, got model type {config.model.get("type")!r}')
    exported = copy.deepcopy(config)
    exported.model = copy.deepcopy(config.model.student)
    return exported


def split_student_state(state: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The student's weights (prefix stripped) and the names of everything else (adapters, ...)."""
    student = {k[len(STUDENT_PREFIX):]: v for k, v in state.items() if k.startswith(STUDENT_PREFIX)}
    if not student:
        raise CheckpointMismatchError(f'no "{STUDENT_PREFIX}*" weights in the checkpoint: is it from training a '
                                      f'DistillationDetector config? (first keys: {sorted(state)[:5]})')
    return student, sorted(k for k in state if not k.startswith(STUDENT_PREFIX))


def export_student(config: Union[str, Config], checkpoint: str, out_checkpoint: str,
                   out_config: Optional[str] = None, force: bool = False) -> Tuple[Config, List[str]]:
    """Write the student checkpoint (and config); return the student config and the dropped (non-student) keys.

    Args:
        config (str | Config): The DistillationDetector config the checkpoint was trained with.
        checkpoint (str): The trained checkpoint.
        out_checkpoint (str): Where to write the student checkpoint.
        out_config (str, optional): Where to write the student config (``.py``).
        force (bool): Overwrite existing output files. Default: False (refuse them).

    Raises:
        ValueError: ``config`` is not a DistillationDetector config, or an output path is unusable.
        FileExistsError: an output exists and ``force`` is False.
        CheckpointMismatchError: the checkpoint holds no student, or its student does not fit the config.
    """
    check_output_paths(out_checkpoint, out_config, checkpoint, force)
    config = Config.fromfile(config) if isinstance(config, str) else config
    exported = student_config(config)
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state, dropped = split_student_state(extract_state_dict(raw, prefix=''))
    init_default_scope(config.get('default_scope', 'mmdet'))
    student = MODELS.build(exported.model)
    load_state_dict_strict(student, state, source=f'the student part of {checkpoint!r}',
                           hint='the checkpoint must come from training this distillation config')
    save_checkpoint_file(student.state_dict(), raw.get('meta', {}) if isinstance(raw, dict) else {}, out_checkpoint)
    if out_config:
        save_config_file(exported, out_config)
    return exported, dropped
