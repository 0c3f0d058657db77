"""Every change ghostdet makes to a third-party library's behaviour, in one table.

Each :class:`Patch` names the library and the exact version it was written for, says why it exists and where the
function that applies it lives. :func:`apply_patches` (run by ``import ghostdet``) applies a patch only when the
installed version is that version; on any other it skips the patch with one :class:`PatchSkippedWarning` naming it,
since the fixed upstream code may have changed or the bug may be gone. ``python -m ghostdet.patches`` prints the
table with what was applied or skipped and why.

Adding a patch: write its apply function (idempotent) in the module of the concept it changes, then add one
``Patch(...)`` to :data:`PATCHES` below.
"""
import importlib
import textwrap
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Dict, List, Optional

__all__ = ['Patch', 'PATCHES', 'PatchSkippedWarning', 'apply_patches', 'installed_version', 'patch_status',
           'format_table']


class PatchSkippedWarning(UserWarning):
    """A patch was not applied because the installed library is not the version it was written for."""


@dataclass(frozen=True)
class Patch:
    """One change to a third-party behaviour.

    Args:
        name (str): Short unique name, used in warnings and the table.
        library (str): The distribution it changes (as ``pip`` names it).
        version (str): The exact version it was written and tested for.
        why (str): What is wrong without it (upstream issue numbers where known).
        apply (str): ``'module:function'`` that applies it; imported only when the patch is applied.
    """
    name: str
    library: str
    version: str
    why: str
    apply: str


PATCHES: List[Patch] = [
    Patch('pkg-resources-warning', 'setuptools', '80.10.2',
          'mmengine resolves `mmdet::` config paths through pkg_resources, whose import warns that it is deprecated '
          'and to pin setuptools < 81, which setup.cfg does; the warning is silenced.',
          'ghostdet.patches:ignore_pkg_resources_deprecation'),
    Patch('safe-checkpoint-loading', 'mmengine', '0.10.7',
          'torch >= 2.6 loads with weights_only=True and refuses the HistoryBuffer and numpy objects mmengine '
          'pickles into its checkpoints (mmengine issue 1655; fix not released): test, resume and load_from fail. '
          'Its loader keeps weights_only=True and allow-lists exactly those types.',
          'ghostdet.engine.safe_load:install_safe_checkpoint_loading'),
    Patch('neck-in-channels-check', 'mmdet', '3.3.0',
          'mmdet builds a detector whose neck in_channels do not fit the backbone without a word, then fails at the '
          'first forward or trains to mAP near 0 (mmdet issue 6810); with a ghostdet backbone the build fails '
          'with both channel lists and the fix.',
          'ghostdet.models.neck_check:install_neck_check'),
    Patch('ssd-head-predict', 'mmdet', '3.3.0',
          'SSDHead never sets loss_cls, which prediction reads, so every SSD / SSDLite prediction raises '
          'AttributeError (mmdet issues 11305, 11780; fix proposed in PR 11524).',
          'ghostdet.models.compat:fix_ssd_head_predict'),
    Patch('cpu-distributed-launch', 'mmengine', '0.10.7',
          'Its pytorch / slurm / mpi launchers call torch.cuda.set_device and default to NCCL, so distributed '
          'training fails without a GPU even with dist_cfg.backend=gloo ("no NVIDIA driver"). Without CUDA no '
          'device is set and NCCL becomes gloo; with CUDA nothing changes.',
          'ghostdet.engine.launcher:install_cpu_launchers'),
    Patch('cpu-ddp', 'mmengine', '0.10.7',
          'The Runner wraps every model in DDP with device_ids=[LOCAL_RANK], which DDP refuses for a CPU model; '
          'SyncBN synchronises through CUDA only. A CPU model is wrapped without device ids and its SyncBN '
          'layers become BN with one warning.',
          'ghostdet.engine.launcher:install_cpu_ddp'),
    Patch('crash-safe-checkpoints', 'mmengine', '0.10.7',
          'CheckpointHook deletes old checkpoints before writing the new one in place and updates '
          'last_checkpoint after: a kill mid-write loses every checkpoint. Its subclass writes to a temporary '
          'file, fsyncs and renames, then updates last_checkpoint atomically, then deletes; auto-resume skips a '
          'damaged checkpoint (naming it) for the newest intact one.',
          'ghostdet.engine.checkpoint_hook:install_crash_safe_checkpoints'),
]

_status: Dict[str, str] = {}


def ignore_pkg_resources_deprecation() -> None:
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)


def installed_version(library: str) -> Optional[str]:
    """The installed version of ``library`` without a local suffix (``2.14.1+cpu`` -> ``2.14.1``); None if absent."""
    try:
        return version(library).split('+')[0]
    except PackageNotFoundError:
        return None


def _resolve(target: str):
    module, _, function = target.partition(':')
    return getattr(importlib.import_module(module), function)


def apply_patches(patches: Optional[List[Patch]] = None) -> Dict[str, str]:
    """Apply each patch whose library is installed at its target version; warn once for each one skipped.

    Returns ``{name: status}`` for every patch, also kept for :func:`patch_status`. Patches are idempotent and a
    patch already applied or skipped is not looked at again.
    """
    for patch in PATCHES if patches is None else patches:
        if patch.name in _status:
            continue
        found = installed_version(patch.library)
        if found == patch.version:
            _resolve(patch.apply)()
            _status[patch.name] = 'applied'
            continue
        found_text = f'{patch.library} {found}' if found else f'{patch.library} is not installed'
        _status[patch.name] = f'skipped: {found_text}'
        warnings.warn(f'ghostdet patch {patch.name!r} was not applied: it was written for {patch.library} '
                      f'{patch.version}, found {found_text}. Check whether it is still needed ({patch.why})',
                      PatchSkippedWarning, stacklevel=2)
    return dict(_status)


def patch_status() -> Dict[str, str]:
    """``{name: 'applied' | 'skipped: ...' | 'not applied yet'}`` for every patch in :data:`PATCHES`."""
    return {patch.name: _status.get(patch.name, 'not applied yet') for patch in PATCHES}


def format_table() -> str:
    """The patch table as text: name, library and the version it targets, status; then why and where."""
    status = patch_status()
    width = max(len(patch.name) for patch in PATCHES)
    lines = []
    for patch in PATCHES:
        lines.append(f'{patch.name:<{width}}  [{patch.library} {patch.version}]  {status[patch.name]}')
        lines.extend(textwrap.wrap(patch.why, 112, initial_indent='    ', subsequent_indent='    '))
        lines.append(f'    applied by {patch.apply}')
    return '\n'.join(lines)
