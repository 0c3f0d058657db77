"""Export the student of a trained DistillationDetector as a plain mmdet detector (no teacher, no adapters).

    python tools/model_converters/export_student.py DISTILL_CONFIG CHECKPOINT OUT_CHECKPOINT OUT_CONFIG

OUT_CONFIG is DISTILL_CONFIG with ``model`` replaced by ``model.student`` (data, evaluators and runtime kept);
OUT_CHECKPOINT holds the ``student.*`` weights without the prefix, checked to load strictly into that student.
Test it like any mmdet detector: ``python tools/test.py OUT_CONFIG OUT_CHECKPOINT``. The teacher is never built
or loaded. With an EMA hook the checkpoint's ``state_dict`` already holds the averaged weights (mmengine swaps
them in when saving), so the export is the EMA student, as tools/test.py would evaluate it.
"""
import argparse
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

import ghostdet  # noqa: F401  (registration, safe checkpoint loading)
from ghostdet.checkpoint import CheckpointMismatchError, extract_state_dict, load_state_dict_strict
from mmdet.registry import MODELS

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


def export_student(config: Config, checkpoint: str, out_checkpoint: str,
                   out_config: Optional[str] = None) -> Tuple[Config, List[str]]:
    """Write the student checkpoint (and config); return the student config and the dropped keys."""
    exported = student_config(config)
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state, dropped = split_student_state(extract_state_dict(raw, prefix=''))
    init_default_scope(config.get('default_scope', 'mmdet'))
    student = MODELS.build(exported.model)
    load_state_dict_strict(student, state, source=f'the student part of {checkpoint!r}',
                           hint='the checkpoint must come from training this distillation config')
    meta = raw.get('meta', {}) if isinstance(raw, dict) else {}
    save_checkpoint({'meta': meta, 'state_dict': student.state_dict()}, out_checkpoint)
    if out_config:
        exported.dump(out_config)
    return exported, dropped


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the DistillationDetector config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('out_checkpoint', help='where to write the student checkpoint')
    parser.add_argument('out_config', help='where to write the student config (.py)')
    args = parser.parse_args(argv)
    _, dropped = export_student(Config.fromfile(args.config), args.checkpoint, args.out_checkpoint, args.out_config)
    prefixes = sorted({k.split('.')[0] for k in dropped})
    print(f'wrote {args.out_checkpoint} and {args.out_config}' +
          (f'; dropped {len(dropped)} non-student tensors ({", ".join(prefixes)})' if dropped else ''))


if __name__ == '__main__':
    main()
