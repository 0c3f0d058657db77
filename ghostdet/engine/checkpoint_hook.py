"""Crash-safe periodic checkpoints and resuming from the newest intact one (mmengine 0.10.7).

mmengine's ``CheckpointHook`` deletes the checkpoints beyond ``max_keep_ckpts`` *before* it writes the new one,
writes it in place, and rewrites ``last_checkpoint`` afterwards: a kill during the write leaves a truncated
checkpoint, the previous one deleted and (on the next save) ``last_checkpoint`` naming a damaged file, so
``--resume`` fails and every checkpoint is lost. :class:`CrashSafeCheckpointHook` keeps everything else of
mmengine's hook (intervals, best checkpoints, publishing) and changes the order of one save:

1. write ``.<name>.part`` next to the final file, ``fsync`` it, rename it to ``<name>`` (atomic on POSIX);
2. rewrite ``last_checkpoint`` the same way (temporary file, ``fsync``, rename);
3. only then delete the checkpoints beyond ``max_keep_ckpts``.

A kill at any moment therefore leaves the previous checkpoint or the new one complete, and ``last_checkpoint``
naming a complete file; at most one checkpoint interval is lost. The checkpoint's content is the same as
mmengine's (``keep_ckpt_ids`` already lists the new step), so a resumed run continues bit-identically.

It is a subclass registered under mmengine's name ``CheckpointHook`` (rather than a replaced method) so every
config, mmdet's ``default_runtime`` included, gets it without an edit, ``isinstance(hook, CheckpointHook)`` still
holds, and mmengine's own class stays untouched for code that imports it directly.

Auto-resume (``--resume`` without a file) goes through :func:`find_latest_intact_checkpoint`: it checks the file
``last_checkpoint`` names and falls back, with a warning naming the damaged file, to the newest intact checkpoint
of the run (also when ``last_checkpoint`` itself is missing, where mmengine would silently start from scratch).
"""
import logging
import os
import os.path as osp
import re
import shutil
import zipfile
from typing import List, Optional

from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ..fileio import PARTIAL_SUFFIX, replace_atomically, write_text_atomically
from .safe_load import NotACheckpointError, check_checkpoint_file

__all__ = ['CrashSafeCheckpointHook', 'checkpoint_damage', 'find_latest_intact_checkpoint',
           'install_crash_safe_checkpoints']

_CHECKPOINT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')  # CheckpointHook's default filename_tmpl


def checkpoint_damage(path: str) -> Optional[str]:
    """Why ``path`` is not a complete ``torch.save`` checkpoint, or ``None`` if it is.

    Beyond the format check of :func:`ghostdet.engine.safe_load.check_checkpoint_file` (a truncated zip archive
    has no central directory), every member of the archive is read and checked against its CRC.
    """
    try:
        check_checkpoint_file(path)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                bad_member = archive.testzip()
            if bad_member is not None:
                return f'{path!r}: archive member {bad_member!r} fails its CRC check'
    except (NotACheckpointError, OSError, zipfile.BadZipFile, EOFError) as error:
        return str(error)
    return None


def _run_checkpoints(folder: str) -> List[str]:
    """The checkpoints named like CheckpointHook's default template in ``folder``, newest (highest step) first."""
    if not osp.isdir(folder):
        return []
    names = [(int(m.group(1)), name) for name in os.listdir(folder) if (m := _CHECKPOINT_NAME.match(name))]
    return [osp.join(folder, name) for _, name in sorted(names, reverse=True)]


def find_latest_intact_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to auto-resume from: the one ``last_checkpoint`` names if intact, else the newest intact one.

    Candidates are the file ``work_dir/last_checkpoint`` names, then the run's ``iter_N.pth`` / ``epoch_N.pth``
    files (in that file's folder, or ``work_dir``) by decreasing step. Each damaged candidate is reported.

    Returns:
        The path, or ``None`` when the run has no checkpoint at all (training starts from scratch).

    Raises:
        RuntimeError: if checkpoints exist but none is intact (starting from scratch would overwrite them).
    """
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip() or None
    if named and '://' in named:  # remote storage (non-local backends): mmengine's behaviour
        return named
    folder = osp.dirname(named) if named else work_dir
    candidates = ([named] if named else []) + [p for p in _run_checkpoints(folder)
                                               if not named or osp.abspath(p) != osp.abspath(named)]
    damaged = []
    for path in candidates:
        reason = 'it does not exist' if not osp.isfile(path) else checkpoint_damage(path)
        if reason is None:
            if damaged or not named:
                print_log(f'Resuming from {path}, the newest intact checkpoint'
                          + (f'; damaged or missing: {"; ".join(damaged)}' if damaged
                             else f' ({record} is missing)'), logger='current', level=logging.WARNING)
            return path
        damaged.append(f'{path} ({reason})')
    if damaged:
        raise RuntimeError(f'cannot resume {work_dir}: no intact checkpoint; damaged or missing: '
                           f'{"; ".join(damaged)}. Delete them (and last_checkpoint) to train from scratch.')
    print_log(f'No checkpoint to resume from in {work_dir}: training from scratch', logger='current')
    return None


class CrashSafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with atomic writes and deletion after the new checkpoint is complete.

    Same arguments as :class:`mmengine.hooks.CheckpointHook`; registered under its name by
    :func:`install_crash_safe_checkpoints`. Non-local storage backends keep mmengine's behaviour.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if runner.rank == 0 and isinstance(self.file_backend, LocalBackend) and osp.isdir(self.out_dir):
            for name in os.listdir(self.out_dir):  # written by a run that was killed mid-write
                if name.startswith('.') and name.endswith(PARTIAL_SUFFIX):
                    os.remove(osp.join(self.out_dir, name))

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        # as mmengine: a second save of the same step (after a new best checkpoint) keeps the list
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = f'.{ckpt_filename}{PARTIAL_SUFFIX}'
        runner.save_checkpoint(  # writes on rank 0 only
            self.out_dir, partial, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if runner.rank != 0:
            return
        replace_atomically(osp.join(self.out_dir, partial), self.last_ckpt)
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isdir(path):  # checkpoints saved by DeepSpeed are folders
                shutil.rmtree(path)
            elif osp.isfile(path):
                os.remove(path)


def install_crash_safe_checkpoints() -> None:
    """Register :class:`CrashSafeCheckpointHook` as ``CheckpointHook`` and route the Runner's auto-resume
    through :func:`find_latest_intact_checkpoint`. Idempotent."""
    from mmengine.registry import HOOKS
    from mmengine.runner import runner as mmengine_runner
    HOOKS.register_module(name='CheckpointHook', module=CrashSafeCheckpointHook, force=True)
    mmengine_runner.find_latest_checkpoint = find_latest_intact_checkpoint
