"""mmengine's pytorch and slurm launchers on a machine without CUDA: the process group comes up on gloo although
NCCL (mmengine's default) is asked for, DDP wraps a CPU model although the Runner passes device ids, SyncBN falls
back to BN with one warning, and gradients are averaged across the processes. Where CUDA is available the
launchers are mmengine's, untouched."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from ghostdet.engine import launcher

WORKER = r'''
import json, os, sys
import torch
import torch.distributed as dist
import ghostdet  # noqa: F401  (patches)
from mmengine.dist import all_gather, init_dist
from mmengine.model import MMDistributedDataParallel

torch.set_num_threads(1)
init_dist(sys.argv[1])  # backend: mmengine's default, nccl
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.SyncBatchNorm(4))
ddp = MMDistributedDataParallel(model, device_ids=[int(os.environ['LOCAL_RANK'])])  # as the Runner calls it
torch.manual_seed(dist.get_rank())
ddp(torch.randn(2, 3, 8, 8)).square().mean().backward()
grads = all_gather(ddp.module[0].weight.grad)
print('RESULT ' + json.dumps(dict(
    backend=dist.get_backend(), world_size=dist.get_world_size(),
    syncbn_left=any(type(m).__name__ == 'SyncBatchNorm' for m in ddp.modules()),
    grads_equal=all(torch.equal(grads[0], g) for g in grads))))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(launcher_name: str, environ_of_rank) -> list:
    port = free_port()
    processes = [subprocess.Popen([sys.executable, '-c', WORKER, launcher_name], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS='1', MASTER_ADDR='127.0.0.1',
                                           MASTER_PORT=str(port), **environ_of_rank(rank)))
                 for rank in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    results = []
    for p, out in zip(processes, outputs):
        assert p.returncode == 0, out[-3000:]
        result = json.loads(next(line for line in out.splitlines() if line.startswith('RESULT '))[7:])
        results.append(dict(result, syncbn_warnings=out.count('SyncBN needs CUDA')))
    return results


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path of the launchers')
@pytest.mark.parametrize('launcher_name, environ_of_rank', [
    ('pytorch', lambda r: dict(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE='2')),  # what torchrun sets
    ('slurm', lambda r: dict(SLURM_PROCID=str(r), SLURM_LOCALID=str(r), SLURM_NTASKS='2',  # what srun sets
                             SLURM_NODELIST='localhost')),
])
def test_two_cpu_processes(launcher_name, environ_of_rank):
    results = launch(launcher_name, environ_of_rank)
    for rank, result in enumerate(results):
        assert result['backend'] == 'gloo' and result['world_size'] == 2
        assert result['grads_equal'] and not result['syncbn_left']
        assert result['syncbn_warnings'] == (1 if rank == 0 else 0)


def test_cuda_machines_keep_mmengine_launchers(monkeypatch):
    calls = []
    init = launcher._cpu_capable(lambda backend, *args, **kwargs: calls.append((backend, args, kwargs)))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    init('nccl', port=123)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    init('nccl', port=123)
    init('mpi')
    assert calls == [('nccl', (), dict(port=123)), ('gloo', (), dict(port=123)), ('mpi', (), {})]


@pytest.mark.parametrize('backbone', [
    dict(type='GhostNet', widen_factor=0.5), dict(type='GhostNetV2', widen_factor=1.0),
    dict(type='GhostNetV3', widen_factor=0.5), dict(type='ShuffleNetV1', groups=3, widen_factor=0.5),
    dict(type='ShuffleNetV2', widen_factor=0.5)], ids=lambda b: b['type'])
def test_syncbn_builds_for_every_backbone(backbone):
    """Every norm layer follows norm_cfg=SyncBN; reverted to BN (what a CPU run gets) the same weights give the same
    outputs, and the reverted model trains a step."""
    from mmdet.registry import MODELS
    from mmengine.model import revert_sync_batchnorm
    torch.manual_seed(0)
    model = MODELS.build(dict(backbone, norm_cfg=dict(type='SyncBN')))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    for m in norms:  # non-trivial statistics, so that the comparison below means something
        m.running_mean.uniform_(-1, 1)
        m.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 64, 64)
    expected = model.eval()(x)
    reverted = revert_sync_batchnorm(model)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in reverted.modules())
    for a, b in zip(expected, reverted.eval()(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    sum(o.mean() for o in reverted.train()(x)).backward()
