"""tools/train.py and tools/test.py (mmdet's CLI with ghostdet registered), and mmdet's own train.py through
custom_imports, run as users run them: in a subprocess."""
import pickle
import subprocess
import sys
from pathlib import Path

import mmdet

REPO = Path(__file__).resolve().parents[2]


def run(*args, cwd=REPO):
    result = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_train_then_test_then_resume(tiny_config, tmp_path):
    work = tmp_path / 'work'
    run(REPO / 'tools' / 'train.py', tiny_config, '--work-dir', work)
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    assert checkpoint.endswith('iter_2.pth')

    out = run(REPO / 'tools' / 'test.py', tiny_config, checkpoint, '--work-dir', tmp_path / 'test',
              '--out', tmp_path / 'results.pkl')
    assert 'coco/bbox_mAP' in out
    with open(tmp_path / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4 and 'pred_instances' in results[0]

    out = run(REPO / 'tools' / 'train.py', tiny_config, '--work-dir', work, '--resume',
              '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3')
    assert 'resumed epoch: 0, iter: 2' in out.lower() or 'resumed' in out.lower()
    assert (work / 'iter_3.pth').exists()


def test_mmdet_own_train_tool_through_custom_imports(tiny_config, tmp_path):
    """mmdet's wheel copy of tools/train.py never imports ghostdet itself: custom_imports does."""
    mmdet_train = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'train.py'
    run(mmdet_train, tiny_config, '--work-dir', tmp_path / 'work', cwd=tmp_path)
    assert (tmp_path / 'work' / 'iter_2.pth').exists()
