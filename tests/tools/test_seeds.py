"""tools/experiments/seeds.py: mean ± std over seeds (checked against numpy on fabricated runs), finished work is
never repeated (runs made by hand in the layout are picked up, unfinished ones resumed), a checkpoint of another
seed is refused, and one tiny real run goes through tools/train.py and tools/test.py."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ghostdet.engine.seeds import run_seeds

REPO = Path(__file__).resolve().parents[2]
METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_s')


def fabricate_checkpoint(path: Path, seed: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(meta=dict(seed=seed), state_dict={}), path)
    (path.parent / 'last_checkpoint').write_text(str(path))


class FakeTools:
    """Stands in for tools/train.py and tools/test.py: records each command and writes what the tool would."""

    def __init__(self, values):
        self.commands, self.values = [], values

    def __call__(self, command):
        self.commands.append(command)
        tool, work = Path(command[1]).name, Path(command[command.index('--work-dir') + 1])
        seed = int(next(a for a in command if a.startswith('randomness.seed='))[len('randomness.seed='):])
        if tool == 'train.py':
            fabricate_checkpoint(work / 'iter_2.pth', seed)
        else:
            fabricate_test(work, Path(command[3]), self.values[seed])


def fabricate_test(test_dir: Path, checkpoint: Path, metrics: dict, stamp: str = '20260101_000000'):
    """What tools/test.py leaves: <stamp>/<stamp>.json (metrics and timings) and a log naming the checkpoint."""
    (test_dir / stamp).mkdir(parents=True)
    (test_dir / stamp / f'{stamp}.json').write_text(json.dumps({**metrics, 'data_time': 0.1, 'time': 0.2}))
    (test_dir / stamp / f'{stamp}.log').write_text(f'2026/01/01 - mmengine - INFO - Load checkpoint from '
                                                   f'{checkpoint}\n')


def test_summary_matches_numpy_and_finished_work_is_not_repeated(tiny_config, tmp_path):
    rng = np.random.default_rng(0)
    values = {seed: {m: float(v) for m, v in zip(METRICS, rng.uniform(0, 1, len(METRICS)))} for seed in range(5)}
    sweep = tmp_path / 'seeds' / tiny_config.stem
    fabricate_checkpoint(sweep / 'seed0' / 'iter_2.pth', 0)                     # trained by hand, tested on
    fabricate_test(sweep / 'seed0' / 'test', sweep / 'seed0' / 'iter_1.pth', values[1], '20250101_000000')  # iter_1
    fabricate_checkpoint(sweep / 'seed1' / 'iter_1.pth', 1)                     # interrupted training
    (sweep / 'seed3').mkdir(parents=True)
    (sweep / 'seed3' / 'test_metrics.json').write_text(json.dumps(values[3]))  # finished earlier
    fabricate_checkpoint(sweep / 'seed4' / 'iter_2.pth', 4)                     # trained and tested by hand
    fabricate_test(sweep / 'seed4' / 'test', sweep / 'seed4' / 'iter_2.pth', values[4])
    tools = FakeTools(values)
    arguments = (str(tiny_config), str(REPO / 'tools'), range(5), str(tmp_path / 'seeds'), ['train_cfg.max_iters=2'])
    result = run_seeds(*arguments, run=tools)

    done = [(Path(c[1]).name, Path(c[c.index('--work-dir') + 1]).relative_to(sweep).parts[0], '--resume' in c)
            for c in tools.commands]
    assert done == [('test.py', 'seed0', False), ('train.py', 'seed1', True), ('test.py', 'seed1', False),
                    ('train.py', 'seed2', False), ('test.py', 'seed2', False)]
    assert all('train_cfg.max_iters=2' in c for c in tools.commands)
    for metric in METRICS:
        column = np.array([values[s][metric] for s in range(5)])
        assert result['summary'][metric]['mean'] == pytest.approx(column.mean(), abs=1e-12)
        assert result['summary'][metric]['std'] == pytest.approx(column.std(ddof=1), abs=1e-12)
    assert set(result['summary']) == set(METRICS)  # timings and the step are not metrics
    table = (sweep / 'summary.md').read_text()
    mean, std = np.mean([values[s]['coco/bbox_mAP'] for s in range(5)]), np.std(
        [values[s]['coco/bbox_mAP'] for s in range(5)], ddof=1)
    assert f'{mean:.3f} ± {std:.3f}' in table and table.count('| seed ') == 5
    assert json.loads((sweep / 'summary.json').read_text())['summary'] == result['summary']

    tools.commands.clear()  # everything finished: a second call only summarises
    run_seeds(*arguments, run=tools)
    assert tools.commands == []


def test_checkpoint_of_another_seed_is_refused(tiny_config, tmp_path):
    fabricate_checkpoint(tmp_path / 'seeds' / tiny_config.stem / 'seed1' / 'iter_2.pth', 0)
    with pytest.raises(ValueError, match='trained with seed 0, not 1'):
        run_seeds(str(tiny_config), str(REPO / 'tools'), [1], str(tmp_path / 'seeds'), run=FakeTools({}))


def test_one_tiny_real_run(tiny_config, tmp_path):
    command = [sys.executable, str(REPO / 'tools' / 'experiments' / 'seeds.py'), str(tiny_config), '--seeds', '1',
               '--root', str(tmp_path / 'seeds')]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    seed_dir = tmp_path / 'seeds' / tiny_config.stem / 'seed0'
    assert (seed_dir / 'iter_2.pth').is_file()
    metrics = json.loads((seed_dir / 'test_metrics.json').read_text())
    assert 'coco/bbox_mAP' in metrics and '| mean ± std (n=1) |' in result.stdout
