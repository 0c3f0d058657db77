"""A DistillationDetector trained by mmengine's Runner: checkpoints without the teacher; the exported student is a
plain mmdet detector that predicts exactly as the wrapper did and runs in mmdet's test flow."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint, save_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from mmdet.registry import MODELS

import ghostdet  # noqa: F401
from ghostdet.checkpoint import CheckpointMismatchError
from ghostdet.models.detectors import export_student, student_config

REPO = Path(__file__).resolve().parents[2]


def test_metric(config: Config, work_dir: Path, checkpoint: Path) -> dict:
    """What tools/test.py does: Runner.from_cfg with load_from, then test()."""
    config = config.copy()
    config.work_dir, config.load_from = str(work_dir), str(checkpoint)
    return Runner.from_cfg(config).test()


test_metric.__test__ = False  # a helper, not a test


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_coco, make_tiny_config):
    """Train the tiny GhostNet RTMDet student for 2 iterations with a wider (48-channel neck) teacher."""
    root = tmp_path_factory.mktemp('distill')
    student = make_tiny_config(root / 'student.py', synthetic_coco)
    (root / 'teacher.py').write_text(f"""
_base_ = [{str(student)!r}]
model = dict(backbone=dict(widen_factor=1.0), neck=dict(in_channels=[40, 112, 960], out_channels=48),
             bbox_head=dict(in_channels=48, feat_channels=48))
""")
    init_default_scope('mmdet')
    torch.manual_seed(0)
    teacher = MODELS.build(Config.fromfile(str(root / 'teacher.py')).model)
    teacher.init_weights()
    save_checkpoint({'meta': {}, 'state_dict': teacher.state_dict()}, str(root / 'teacher.pth'))
    (root / 'distill.py').write_text(f"""
_base_ = [{str(student)!r}]
model = dict(
    _delete_=True,
    type='DistillationDetector',
    student=_base_.model,
    teacher=dict(config={str(root / 'teacher.py')!r}, checkpoint={str(root / 'teacher.pth')!r}),
    distill_losses=dict(
        loss_pkd=dict(type='PKDLoss', loss_weight=2.0),
        loss_kd_cls=dict(type='LogitKDLoss', activation='sigmoid', warmup_iters=2)))
""")
    config = Config.fromfile(str(root / 'distill.py'))
    config.work_dir = str(root / 'work')
    Runner.from_cfg(config).train()
    return root, config


def test_training_logs_distillation_losses_and_saves_no_teacher(trained):
    root, _ = trained
    log = next((root / 'work').rglob('*.log')).read_text()
    assert 'loss_pkd' in log and 'loss_kd_cls' in log
    checkpoint = CheckpointLoader.load_checkpoint(str(root / 'work' / 'iter_2.pth'), map_location='cpu')
    keys = list(checkpoint['state_dict']) + list(checkpoint.get('ema_state_dict', {}))
    assert keys and not [k for k in keys if 'teacher' in k]
    assert any(k.startswith('adapters.loss_pkd.') for k in checkpoint['state_dict'])  # 32 -> 48 channels


def test_exported_student_predicts_like_the_wrapper_and_runs_in_mmdet_test_flow(trained, tmp_path):
    root, config = trained
    export_student(config, str(root / 'work' / 'iter_2.pth'), str(tmp_path / 'student.pth'),
                   str(tmp_path / 'student_config.py'))

    exported = CheckpointLoader.load_checkpoint(str(tmp_path / 'student.pth'), map_location='cpu')['state_dict']
    assert exported and not [k for k in exported if k.startswith(('student.', 'adapters.')) or 'teacher' in k]
    student_config = Config.fromfile(str(tmp_path / 'student_config.py'))
    assert student_config.model.type == 'RTMDet' and 'teacher' not in student_config.model

    wrapper = MODELS.build(config.model).eval()
    load_checkpoint(wrapper, str(root / 'work' / 'iter_2.pth'), map_location='cpu', strict=True)
    student = MODELS.build(student_config.model).eval()
    load_checkpoint(student, str(tmp_path / 'student.pth'), map_location='cpu', strict=True)
    data = next(iter(Runner.build_dataloader(config.val_dataloader)))
    with torch.no_grad():
        ours, theirs = wrapper.test_step(copy.deepcopy(data)), student.test_step(copy.deepcopy(data))
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a.pred_instances[key], b.pred_instances[key]), key

    metrics = test_metric(student_config, tmp_path / 'test', tmp_path / 'student.pth')
    assert 'coco/bbox_mAP' in metrics


def test_export_refuses_what_is_not_a_distillation_checkpoint(trained, tmp_path):
    root, config = trained
    plain = student_config(config)
    with pytest.raises(ValueError, match='expected a DistillationDetector config'):
        student_config(plain)
    with pytest.raises(CheckpointMismatchError, match='no "student.\\*" weights'):
        export_student(config, str(root / 'teacher.pth'), str(tmp_path / 'x.pth'))
    assert not (tmp_path / 'x.pth').exists()
    with pytest.raises(ValueError, match='is the input'):
        export_student(config, str(root / 'work' / 'iter_2.pth'), str(root / 'work' / 'iter_2.pth'), force=True)


def test_cli_never_overwrites_without_force(trained, tmp_path):
    root, config = trained
    out_checkpoint, out_config = tmp_path / 'student.pth', tmp_path / 'student.py'
    out_config.write_text('# a file of the user')
    command = [sys.executable, str(REPO / 'tools' / 'model_converters' / 'export_student.py'),
               str(root / 'distill.py'), str(root / 'work' / 'iter_2.pth'), str(out_checkpoint), str(out_config)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and 'already exist' in result.stderr and '--force' in result.stderr
    assert out_config.read_text() == '# a file of the user' and not out_checkpoint.exists()

    result = subprocess.run(command + ['--force'], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Config.fromfile(str(out_config)).model.type == 'RTMDet'
    exported = CheckpointLoader.load_checkpoint(str(out_checkpoint), map_location='cpu')['state_dict']
    assert not [k for k in exported if k.startswith(('student.', 'adapters.'))]
