"""Crash-safe checkpoints: a real (tiny) training process is killed with SIGKILL at every step of a checkpoint save
(mid-write, after the rename, after last_checkpoint is updated) and at a random moment, a checkpoint is damaged
on disk, and the run is resumed each time; it must end bit-identical (loss history, weights, EMA, optimizer) to an
uninterrupted run, and never lose more than one checkpoint interval."""
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from ghostdet.engine import checkpoint_hook
from ghostdet.engine.checkpoint_hook import checkpoint_damage, find_latest_intact_checkpoint
from ghostdet.engine.safe_load import load_from_local_safe

HERE = Path(__file__).resolve().parent
MAX_ITERS = 5


def train(config, work, *extra, kill_at=None, kill_after_line=None):
    """Run killable_train.py; return (return code, output). ``kill_after_line``: SIGKILL from outside at a random
    moment (0-0.4 s) after the first output line containing that text."""
    env = dict(os.environ, OMP_NUM_THREADS='1', KILL_AT=kill_at or 'none:0')
    command = [sys.executable, str(HERE / 'killable_train.py'), str(config), '--work-dir', str(work), *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if kill_after_line and kill_after_line in line:
            time.sleep(random.uniform(0, 0.4))
            process.send_signal(signal.SIGKILL)
            kill_after_line = None
    return process.wait(timeout=300), ''.join(lines)


def recorded(work: Path) -> Path:
    return Path((work / 'last_checkpoint').read_text().strip())


def state(checkpoint: Path) -> dict:
    ckpt = load_from_local_safe(str(checkpoint))
    losses = ckpt['message_hub']['log_scalars']['train/loss']._log_history
    return dict(model=ckpt['state_dict'], ema=ckpt['ema_state_dict'], optimizer=ckpt['optimizer']['state'],
                losses=losses, iter=ckpt['meta']['iter'])


def assert_identical(a, b, path='checkpoint'):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_identical(a[key], b[key], f'{path}.{key}')
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    else:
        assert (a == b).all() if hasattr(a, 'all') else a == b, path


@pytest.fixture
def crash_config(tmp_path, synthetic_coco, make_tiny_config):
    tiny = make_tiny_config(tmp_path / 'tiny_config.py', synthetic_coco, max_iters=MAX_ITERS)
    config = tmp_path / 'crash_config.py'
    # the demo's setting that lost every checkpoint: keep one; here saved every iteration
    config.write_text(f"""_base_ = [{str(tiny)!r}]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
train_cfg = dict(val_interval=1000)
""")
    return config


def test_killed_anywhere_resumes_bit_identically(crash_config, tmp_path):
    reference, work = tmp_path / 'reference', tmp_path / 'killed'
    code, out = train(crash_config, reference)
    assert code == 0, out[-3000:]
    expected = state(reference / f'iter_{MAX_ITERS}.pth')
    assert expected['iter'] == MAX_ITERS and len(expected['losses']) == MAX_ITERS

    # 1. killed half-way through writing iter_3: iter_2 stays complete and recorded, iter_3 only a temporary file
    code, out = train(crash_config, work, kill_at='mid_write:3')
    assert code == -signal.SIGKILL, out[-3000:]
    assert recorded(work).name == 'iter_2.pth' and checkpoint_damage(str(work / 'iter_2.pth')) is None
    assert not (work / 'iter_3.pth').exists() and (work / '.iter_3.pth.part').exists()

    # 2. resumed from iter_2, killed after iter_4 is renamed into place, before last_checkpoint names it
    code, out = train(crash_config, work, '--resume', kill_at='after_rename:2')
    assert code == -signal.SIGKILL and 'iter_2.pth' in out, out[-3000:]
    assert not (work / '.iter_3.pth.part').exists()  # the leftover of the killed write is cleaned up
    assert recorded(work).name == 'iter_3.pth' and (work / 'iter_3.pth').exists()

    # 3. resumed from iter_3, killed after last_checkpoint names iter_4, before iter_3 is deleted
    code, out = train(crash_config, work, '--resume', kill_at='after_record:1')
    assert code == -signal.SIGKILL, out[-3000:]
    assert recorded(work).name == 'iter_4.pth' and (work / 'iter_3.pth').exists()

    # 4. the recorded checkpoint is damaged on disk: resume names it and falls back to the newest intact one
    data = (work / 'iter_4.pth').read_bytes()
    (work / 'iter_4.pth').write_bytes(data[:len(data) // 3])
    code, out = train(crash_config, work, '--resume', kill_after_line='Iter(train)')
    assert 'iter_4.pth' in out and 'damaged' in out and f'Resuming from {work / "iter_3.pth"}' in out, out[-3000:]

    # 5. whatever the random kill hit, the run resumes and finishes like the uninterrupted one
    if code != 0:
        assert find_latest_intact_checkpoint(str(work)) is not None
        code, out = train(crash_config, work, '--resume')
    assert code == 0, out[-3000:]
    assert_identical(state(work / f'iter_{MAX_ITERS}.pth'), expected)
    # older checkpoints are deleted (one may stay behind if the random kill fell between recording and deleting)
    left = {p.name for p in work.glob('*.pth')} - {f'iter_{MAX_ITERS}.pth'}
    assert left <= {f'iter_{MAX_ITERS - 1}.pth'}, left


def save(path: Path, value: float) -> Path:
    torch.save(dict(state_dict=dict(w=torch.full((64, ), value))), path)
    return path


def test_auto_resume_picks_the_newest_intact_checkpoint(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(checkpoint_hook, 'print_log', lambda message, **kwargs: logged.append(message))
    assert find_latest_intact_checkpoint(str(tmp_path)) is None  # nothing there: train from scratch
    for step in (1, 2, 10):
        save(tmp_path / f'iter_{step}.pth', step)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    assert find_latest_intact_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_10.pth')

    # a flipped byte inside a tensor: the archive's CRC check finds it (the zip directory is still intact)
    data = bytearray((tmp_path / 'iter_10.pth').read_bytes())
    with zipfile.ZipFile(tmp_path / 'iter_10.pth') as archive:
        member = next(i for i in archive.infolist() if '/data/' in i.filename)
    header = member.header_offset  # local header: 30 bytes, then the name and extra field, then the data
    name_length, extra_length = (int.from_bytes(data[header + i:header + i + 2], 'little') for i in (26, 28))
    data[header + 30 + name_length + extra_length + 8] ^= 0xFF
    (tmp_path / 'iter_10.pth').write_bytes(bytes(data))
    assert 'CRC' in checkpoint_damage(str(tmp_path / 'iter_10.pth'))
    # the newest by step, not by name order (iter_2 > iter_10 as text)
    assert find_latest_intact_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    assert 'iter_10.pth' in logged[-1] and 'CRC' in logged[-1]

    (tmp_path / 'last_checkpoint').unlink()  # mmengine would start from scratch here
    assert find_latest_intact_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')

    for step in (1, 2):
        (tmp_path / f'iter_{step}.pth').write_bytes(b'')
    with pytest.raises(RuntimeError, match=r'no intact checkpoint.*iter_10\.pth.*CRC.*Delete them'):
        find_latest_intact_checkpoint(str(tmp_path))
