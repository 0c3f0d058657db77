"""Checkpoints written by a real mmengine Runner load on torch >= 2.6 with weights_only kept on; files that are not
checkpoints are named as such."""
import os
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

import ghostdet  # noqa: F401  (installs the safe loader)
from ghostdet.engine.safe_load import NotACheckpointError, load_from_local_safe


def _runner(config, work_dir, **overrides):
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def trained(tmp_path_factory, synthetic_coco, make_tiny_config):
    root = tmp_path_factory.mktemp('runner')
    config = make_tiny_config(root / 'cfg.py', synthetic_coco, max_iters=2)
    runner = _runner(config, root / 'work')
    runner.train()
    return config, root / 'work'


def test_plain_torch_load_refuses_mmengine_checkpoint(trained):
    """The problem is real (torch >= 2.6), and ghostdet does not weaken torch.load globally."""
    _, work = trained
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(work / 'iter_2.pth')


def test_checkpoint_loads_for_test(trained, tmp_path):
    config, work = trained
    checkpoint = load_from_local_safe(str(work / 'iter_2.pth'))
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(checkpoint)
    metrics = _runner(config, tmp_path, load_from=str(work / 'iter_2.pth')).test()
    assert 'coco/bbox_mAP' in metrics


def test_checkpoint_resumes_training(trained, tmp_path):
    config, work = trained
    runner = _runner(config, tmp_path, load_from=str(work / 'iter_1.pth'), resume=True,
                     train_cfg=dict(max_iters=3, val_interval=3))
    runner.train()
    assert runner.iter == 3
    # the message hub (HistoryBuffer) came back from the checkpoint: the loss history spans all iterations
    assert runner.message_hub.get_scalar('train/loss').data[0].size == 3


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_arbitrary_callables_are_still_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Exploit(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


class _AttributeLookup:
    def __reduce__(self):
        return getattr, (torch.Tensor, 'tolist')


def test_only_history_buffer_methods_may_be_looked_up(tmp_path):
    path = tmp_path / 'lookup.pth'
    torch.save({'meta': _AttributeLookup()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer statistics methods'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


@pytest.mark.parametrize('content, message', [
    (b'epoch_12.pth\n', 'is not a PyTorch checkpoint'),  # a text file: torch.load alone says "KeyError: 101"
    (b'', 'is empty'),
    (b'PK\x03\x04 cut short', 'damaged or truncated zip archive'),
])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, content, message):
    path = tmp_path / 'weights.pth'
    path.write_bytes(content)
    with pytest.raises(NotACheckpointError, match=message):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_truncated_checkpoint_is_named(trained, tmp_path):
    _, work = trained
    data = (work / 'iter_2.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(NotACheckpointError, match='cut.pth.*truncated'):
        load_from_local_safe(str(tmp_path / 'cut.pth'))
