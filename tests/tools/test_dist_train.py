"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo chosen automatically; the configs name
NCCL): SyncBN in backbone, neck and head falls back to BN with one warning, training finishes on both ranks with
the same parameters, --auto-scale-lr scales as mmdet documents, the checkpoint loads in one process and
dist_test.sh gives the same predictions and metrics as tools/test.py; a DistillationDetector with EMA trains too."""
import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ghostdet.engine.safe_load import load_from_local_safe

REPO = Path(__file__).resolve().parents[2]
BASE_LR, BATCH, BASE_BATCH, PROCS = 0.004, 2, 2, 2  # BASE_LR: the tree configs'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(command, cwd):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(list(map(str, command)), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory, synthetic_coco, make_tiny_config):
    root = tmp_path_factory.mktemp('dist')
    tiny = make_tiny_config(root / 'tiny_config.py', synthetic_coco, max_iters=3)
    config = root / 'syncbn_config.py'
    config.write_text(f"""_base_ = [{str(tiny)!r}]
custom_imports = dict(imports=['ghostdet', 'dist_probe'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN')
model = dict(backbone=dict(norm_cfg=norm_cfg), neck=dict(norm_cfg=norm_cfg), bbox_head=dict(norm_cfg=norm_cfg))
auto_scale_lr = dict(enable=False, base_batch_size={BASE_BATCH})
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.01, gamma=100, update_buffers=True, priority=49),
    dict(type='DumpRankParameters')]
""")
    work = root / 'work'
    out = run(['bash', REPO / 'tools' / 'dist_train.sh', config, PROCS, '--work-dir', work, '--auto-scale-lr'], root)
    return root, config, work, out


def assert_same_parameters(work: Path):
    ranks = [torch.load(work / f'rank{r}_parameters.pth', weights_only=True) for r in range(PROCS)]
    assert ranks[0].keys() == ranks[1].keys() and len(ranks[0]) > 0
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name


def test_trains_on_both_ranks_with_equal_parameters(dist_run):
    root, config, work, out = dist_run
    assert out.count('backend gloo instead of nccl') == PROCS and 'Distributed training: True' in out
    assert out.count('SyncBN needs CUDA') == 1
    assert_same_parameters(work)
    checkpoint = load_from_local_safe(str(work / 'iter_3.pth'))
    assert 'ema_state_dict' in checkpoint and checkpoint['meta']['iter'] == 3


def test_auto_scale_lr_follows_the_linear_scaling_rule(dist_run):
    """mmdet: lr = base_lr * (number of GPUs x samples per GPU) / auto_scale_lr.base_batch_size."""
    _, _, work, _ = dist_run
    groups = load_from_local_safe(str(work / 'iter_3.pth'))['optimizer']['param_groups']
    expected = BASE_LR * PROCS * BATCH / BASE_BATCH
    assert expected != BASE_LR and all(g['lr'] == pytest.approx(expected, rel=1e-12) for g in groups)


def test_dist_test_equals_one_process(dist_run):
    root, config, work, _ = dist_run
    checkpoint = work / 'iter_3.pth'
    run([sys.executable, REPO / 'tools' / 'test.py', config, checkpoint, '--work-dir', root / 'test1',
         '--out', root / 'one.pkl'], root)
    run(['bash', REPO / 'tools' / 'dist_test.sh', config, checkpoint, PROCS, '--work-dir', root / 'test2',
         '--out', root / 'two.pkl'], root)
    metrics = [json.loads(next((root / name).glob('*/*.json')).read_text()) for name in ('test1', 'test2')]
    assert {k: v for k, v in metrics[0].items() if k.startswith('coco/')} == \
           {k: v for k, v in metrics[1].items() if k.startswith('coco/')}
    one, two = (pickle.loads((root / f'{n}.pkl').read_bytes()) for n in ('one', 'two'))
    assert [r['img_id'] for r in one] == [r['img_id'] for r in two] and len(one) == 4
    assert sum(len(r['pred_instances']['scores']) for r in one) > 0
    for a, b in zip(one, two):
        for key in ('bboxes', 'scores', 'labels'):
            np.testing.assert_allclose(np.asarray(a['pred_instances'][key]), np.asarray(b['pred_instances'][key]),
                                       rtol=1e-5, atol=1e-4)


def test_distillation_detector_with_ema(dist_run):
    root, config, work, _ = dist_run
    distill = root / 'distill_config.py'
    distill.write_text(f"""
_base_ = [{str(config)!r}]
model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config={str(config)!r}, checkpoint={str(work / 'iter_3.pth')!r}),
    distill_losses=dict(loss_pkd=dict(type='PKDLoss', source='neck', loss_weight=2.0),
                        loss_kd_cls=dict(type='LogitKDLoss', activation='sigmoid')))
""")
    out = run(['bash', REPO / 'tools' / 'dist_train.sh', distill, PROCS, '--work-dir', root / 'distill'], root)
    assert 'loss_pkd' in out
    assert_same_parameters(root / 'distill')
    assert 'ema_state_dict' in load_from_local_safe(str(root / 'distill' / 'iter_3.pth'))
