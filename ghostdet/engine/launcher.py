"""Distributed launching on machines with and without a GPU (mmengine 0.10.7).

mmengine's launchers (``--launcher pytorch|slurm|mpi``) call ``torch.cuda.set_device(local_rank)`` and default to
NCCL, and its Runner wraps the model in DDP with ``device_ids=[LOCAL_RANK]``; all of it fails where CUDA is not
available ("no NVIDIA driver"), even with ``env_cfg.dist_cfg.backend='gloo'``. The patches here (applied by
:mod:`ghostdet.patches`) change nothing where CUDA is available. Without it:

* the process group uses gloo when NCCL was asked for (the only backend mmdet's configs name), no device is set;
* DDP wraps the CPU model without ``device_ids``;
* SyncBN layers, which synchronise through CUDA only, become BN (per-process batch statistics), with one warning.
"""
import contextlib
import functools
import logging

import torch
from mmengine.logging import print_log

__all__ = ['cpu_backend', 'install_cpu_launchers', 'install_cpu_ddp']


def cpu_backend(backend: str) -> str:
    """The process-group backend to use without CUDA: gloo instead of NCCL, anything else as given."""
    return 'gloo' if backend == 'nccl' else backend


@contextlib.contextmanager
def _no_cuda_device():
    """``torch.cuda.set_device`` as a no-op for the duration (there is no device to select)."""
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device


def _cpu_capable(init_fn):
    """Wrap one of mmengine's ``_init_dist_<launcher>(backend, ...)`` functions."""

    @functools.wraps(init_fn)
    def init(backend='nccl', *args, **kwargs):
        if torch.cuda.is_available():
            return init_fn(backend, *args, **kwargs)
        if cpu_backend(backend) != backend:
            print_log(f'CUDA is not available: distributed processes on the CPU, backend {cpu_backend(backend)} '
                      f'instead of {backend}', logger='current')
        with _no_cuda_device():
            return init_fn(cpu_backend(backend), *args, **kwargs)

    init.__wrapped_by_ghostdet__ = True
    return init


def install_cpu_launchers() -> None:
    """Make mmengine's pytorch, slurm and mpi launchers work without CUDA. Idempotent."""
    from mmengine.dist import utils
    for name in ('_init_dist_pytorch', '_init_dist_slurm', '_init_dist_mpi'):
        init_fn = getattr(utils, name)
        if not getattr(init_fn, '__wrapped_by_ghostdet__', False):
            setattr(utils, name, _cpu_capable(init_fn))


def _on_cpu(module: torch.nn.Module) -> bool:
    return all(p.device.type == 'cpu' for p in module.parameters())


def install_cpu_ddp() -> None:
    """Make mmengine's ``MMDistributedDataParallel`` accept a CPU model (DDP on gloo). Idempotent."""
    from mmengine.dist import get_rank
    from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
    init = MMDistributedDataParallel.__init__
    if getattr(init, '__wrapped_by_ghostdet__', False):
        return

    @functools.wraps(init)
    def cpu_capable_init(self, module, *args, **kwargs):
        if _on_cpu(module):
            # DDP rejects device ids for a CPU module; the runner passes [LOCAL_RANK] unconditionally.
            kwargs['device_ids'] = None
            # torch's and mmcv's SyncBatchNorm share the class name; both synchronise through CUDA only.
            if any(type(m).__name__ == 'SyncBatchNorm' for m in module.modules()):
                if get_rank() == 0:
                    print_log('SyncBN needs CUDA: on the CPU its layers fall back to BN (batch statistics of each '
                              'process); the checkpoint keys are the same', logger='current', level=logging.WARNING)
                module = revert_sync_batchnorm(module)
        init(self, module, *args, **kwargs)

    cpu_capable_init.__wrapped_by_ghostdet__ = True
    MMDistributedDataParallel.__init__ = cpu_capable_init
