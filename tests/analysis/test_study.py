"""The backbone study (ghostdet.analysis.study, tools/experiments/backbone_study.py): every study config trains a
step on generated data; the table's means / sample stds are numpy's on fabricated runs; finished (row, seed) runs
are never repeated and the rest run seed-major (also with --jobs); distilled rows wait for (or skip without) the
teacher; bad row names fail before any work."""
import importlib.util
import json
import math
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import ghostdet  # noqa: F401
from ghostdet.analysis import study
from ghostdet.analysis.detector import build_detector, load_config
from ghostdet.analysis.study import (GOAL_AP50, METRICS, MIN_SEEDS, ROWS, TEACHER_CONFIG, run_study, select_rows,
                                     study_order)
from ghostdet.datasets import MAIN_JOB_CONFIG, MAIN_JOB_WORK_DIR, generate_synthetic_coco

REPO = Path(__file__).resolve().parents[2]
ROW = {row.key: row for row in ROWS}
SHAPE = (64, 64)  # params / FLOPs / latency input of the fabricated studies (640 in the real one)


# (a) every study config trains -----------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def one_class_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('one_class')
    generate_synthetic_coco(str(root), num_images=4, image_size=(96, 128), size_range=(8, 40), seed=0,
                            split='train', num_classes=1)
    return root


@pytest.fixture(scope='module')
def random_teacher(tmp_path_factory):
    """A randomly initialised checkpoint of the tree teacher's architecture."""
    from mmdet.registry import MODELS
    from ghostdet.models.detectors import load_teacher_model_config
    init_default_scope('mmdet')
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save(dict(state_dict=MODELS.build(load_teacher_model_config(str(REPO / TEACHER_CONFIG))).state_dict()), path)
    return path


def shrink(cfg: Config, data_root: Path, work_dir: Path) -> Config:
    """The study config on the generated data: 64-px crops, batch 2, one iteration, no evaluation or checkpoint."""
    def point_at_data(dataset):
        for step in dataset.get('pipeline', []):
            if 'crop_size' in step:
                step.crop_size = (64, 64)
            if step.type == 'CropMixUp':  # the one step mixes
                step.prob = 1.0
        if dataset.type == 'MultiImageMixDataset':  # the MixUp row wraps the dataset
            return point_at_data(dataset.dataset)
        dataset.update(data_root=f'{data_root}/', ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                       metainfo=dict(classes=('square', )))

    point_at_data(cfg.train_dataloader.dataset)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    for part in ('val', 'test'):
        cfg[f'{part}_dataloader'] = cfg[f'{part}_cfg'] = cfg[f'{part}_evaluator'] = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.mark.parametrize('row', ROWS, ids=[row.key for row in ROWS])
def test_every_study_config_trains_a_step(row, one_class_coco, random_teacher, tmp_path):
    cfg = Config.fromfile(str(REPO / row.config))
    assert cfg.model.get('type') in ('RTMDet', 'DistillationDetector')
    distilled = cfg.model.type == 'DistillationDetector'
    if distilled:
        cfg.model.teacher.checkpoint = str(random_teacher)
    runner = Runner.from_cfg(shrink(cfg, one_class_coco, tmp_path))
    runner.train()
    assert runner.iter == 1
    scalars = runner.message_hub.log_scalars
    assert math.isfinite(scalars['train/loss'].current())
    if distilled:
        for name in cfg.model.distill_losses:
            assert math.isfinite(scalars[f'train/{name}'].current()), name


def test_rows_are_the_issue_s_in_its_order_and_cover_every_study_config():
    assert [row.name for row in ROWS] == [
        'GhostNet 1.0x', 'GhostNetV2 1.0x', 'GhostNetV3 1.0x', 'ShuffleNetV1 g3 1.0x (main job)', 'ShuffleNetV2 1.0x',
        'ShuffleNetV2 1.5x', 'MobileNetV2 1.0x', 'MobileNetV3-large', 'MobileNetV3-small', 'EfficientNet-B0',
        'GhostNetV3 without branches', 'GhostNetV3 + MixUp', 'GhostNetV3 distilled',
        'GhostNetV3 without branches distilled', 'GhostNet 1.0x distilled']
    assert [row.group for row in ROWS] == ['backbone'] * 10 + ['recipe'] * 5
    configs = {row.config for row in ROWS}
    expected = {str(p.relative_to(REPO)) for p in (REPO / 'configs/trees/backbones').glob('*.py')}
    expected |= {str(p.relative_to(REPO)) for p in (REPO / 'configs/distill').glob('*_trees.py')}
    assert configs == expected | {'configs/trees/rtmdet-pafpn64_ghostnet-1.0x_trees.py', MAIN_JOB_CONFIG}


def test_main_job_is_the_makefile_s_demo():
    makefile = dict(re.findall(r'^(CONFIG|WORK_DIR)\s*:=\s*(\S+)', (REPO / 'Makefile').read_text(), re.M))
    assert makefile == dict(CONFIG=MAIN_JOB_CONFIG, WORK_DIR=MAIN_JOB_WORK_DIR)
    assert (REPO / MAIN_JOB_CONFIG).is_file()


# fabricated runs --------------------------------------------------------------------------------------------------

def fabricate_checkpoint(work_dir: Path, seed: int, name: str = 'iter_600.pth') -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    torch.save(dict(meta=dict(seed=seed), state_dict={}), work_dir / name)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / name))
    return work_dir / name


def fabricate_test(test_dir: Path, checkpoint: Path, metrics: dict, stamp: str = '20260101_000000'):
    """What tools/test.py leaves: <stamp>/<stamp>.json and a log naming the checkpoint it loaded (an hour ago)."""
    (test_dir / stamp).mkdir(parents=True)
    (test_dir / stamp / f'{stamp}.json').write_text(json.dumps({**metrics, 'data_time': 0.1, 'time': 0.2}))
    log = test_dir / stamp / f'{stamp}.log'
    log.write_text(f'2026/01/01 - mmengine - INFO - Load checkpoint from {checkpoint}\n')
    os.utime(log, (time.time() - 3600, ) * 2)


def seed_dir(root: Path, key: str, seed: int) -> Path:
    return root / Path(ROW[key].config).stem / f'seed{seed}'


def random_metrics(rng) -> dict:
    return {key: float(v) for key, v in zip(METRICS.values(), rng.uniform(0.05, 0.6, len(METRICS)))}


class FakeTools:
    """Stands in for tools/train.py and tools/test.py: records every command and writes what the tool would."""

    def __init__(self, metrics=None, train_seconds=0.0, fail_stem=None):
        self.commands, self.running, self.overlaps = [], set(), []
        self.metrics = metrics or {}
        self.train_seconds, self.fail_stem = train_seconds, fail_stem
        self.lock = threading.Lock()
        self.joined = threading.Condition(self.lock)

    def __call__(self, command, env, cwd):
        tool, config = Path(command[1]).name, Path(command[2])
        work = Path(command[command.index('--work-dir') + 1])
        seed = next((int(a.split('=')[1]) for a in command if a.startswith('randomness.seed=')), None)
        with self.lock:
            self.commands.append(dict(tool=tool, stem=config.stem, seed=seed, resume='--resume' in command,
                                      command=command, env=env, cwd=cwd))
            if tool == 'train.py':
                self.running.add((config.stem, seed))
                self.overlaps.append(set(self.running))
                self.joined.notify_all()
        if tool == 'train.py':
            with self.lock:  # "train" until another training runs alongside, at most train_seconds
                self.joined.wait_for(lambda: len(self.running) > 1, timeout=self.train_seconds)
                self.running.discard((config.stem, seed))
            if config.stem == self.fail_stem:
                raise study.subprocess.CalledProcessError(1, command)
            if seed is None:  # the teacher
                fabricate_checkpoint(work, 0, 'iter_1000.pth')
            else:
                fabricate_checkpoint(work, seed)
        else:
            metrics = self.metrics.get((config.stem, seed)) or random_metrics(np.random.default_rng(seed))
            fabricate_test(work, Path(command[3]), metrics)

    def trained(self):
        return [(c['stem'], c['seed'], c['resume']) for c in self.commands if c['tool'] == 'train.py']


# (b) aggregation --------------------------------------------------------------------------------------------------

def test_table_and_plot_of_fabricated_runs(tmp_path):
    rng = np.random.default_rng(7)
    root = tmp_path / 'study'
    values = {('ghostnet', s): random_metrics(rng) for s in range(3)}
    values.update({('ghostnetv3', s): random_metrics(rng) for s in range(2)})
    for (key, seed), metrics in values.items():
        run = seed_dir(root, key, seed)
        if (key, seed) == ('ghostnetv3', 1):  # trained and tested by hand: no test_metrics.json
            fabricate_test(run / 'test', fabricate_checkpoint(run, seed), metrics)
        else:
            run.mkdir(parents=True)
            (run / 'test_metrics.json').write_text(json.dumps(metrics))
    fabricate_checkpoint(seed_dir(root, 'ghostnetv3-norep', 0), 0)  # trained, never tested: not finished

    result = run_study(['ghostnet', 'GhostNetV3 1.0x', 'ghostnetv3-norep'], 3, str(root), threads=1,
                       summarise_only=True, repeats=2, warmup=1, shape=SHAPE)

    rows = {r['key']: r for r in result['rows']}
    assert list(rows) == ['ghostnet', 'ghostnetv3', 'ghostnetv3-norep']  # study order, not the order asked
    markdown = (root / 'study.md').read_text()
    assert markdown == result['markdown']
    lines = {key: next(line for line in markdown.splitlines() if line.startswith(f'| {ROW[key].name} |'))
             for key in rows}
    for key, n in (('ghostnet', 3), ('ghostnetv3', 2)):
        assert sorted(rows[key]['per_seed']) == list(range(n))
        for name, metric in METRICS.items():
            column = np.array([values[key, s][metric] for s in range(n)])
            stat = rows[key]['summary'][name]
            assert stat['n'] == n
            assert stat['mean'] == pytest.approx(column.mean(), abs=1e-12)
            assert stat['std'] == pytest.approx(column.std(ddof=1), abs=1e-12)
            assert f'{column.mean():.3f} ± {column.std(ddof=1):.3f}' in lines[key]
        goal = np.mean([values[key, s]['coco/bbox_mAP_50'] for s in range(n)]) - GOAL_AP50
        assert rows[key]['ap50_to_goal'] == pytest.approx(goal, abs=1e-12) and f'{goal:+.3f}' in lines[key]
    assert rows['ghostnetv3-norep']['summary'] == {} and rows['ghostnetv3-norep']['per_seed'] == {}
    assert '⚠' not in lines['ghostnet'] and '| 3/3 |' in lines['ghostnet']
    assert '| 2/3 ⚠ |' in lines['ghostnetv3'] and '| 0/3 ⚠ |' in lines['ghostnetv3-norep']
    assert f'fewer than {MIN_SEEDS} finished seeds' in markdown

    for key in rows:  # inference form counted independently
        model = build_detector(load_config(str(REPO / ROW[key].config)), deploy=True)
        params = sum(p.numel() for p in model.parameters())
        assert rows[key]['complexity']['params'] == params
        assert f'| {params / 1e6:.2f} |' in lines[key]
        assert rows[key]['latency']['median_ms'] > 0 and f'{rows[key]["latency"]["median_ms"]:.1f}' in lines[key]
        exported = rows[key]['exported_latency']['median_ms']
        assert exported > 0 and f'{exported:.1f} ({exported / rows[key]["latency"]["median_ms"]:.2f}x)' in lines[key]
    # GhostNetV3 fused and GhostNetV3 built without branches are one network: one measurement, shared
    assert rows['ghostnetv3']['network'] == rows['ghostnetv3-norep']['network'] != rows['ghostnet']['network']
    assert rows['ghostnetv3']['latency'] == rows['ghostnetv3-norep']['latency']

    saved = json.loads((root / 'study.json').read_text())
    assert saved['rows'][0]['summary']['AP50']['mean'] == rows['ghostnet']['summary']['AP50']['mean']
    png = (root / 'study.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    import matplotlib.pyplot as plt
    assert plt.imread(str(root / 'study.png')).ndim == 3
    assert not any(p.name.endswith('.part') for p in root.rglob('*'))  # written atomically
    assert not (seed_dir(root, 'ghostnetv3', 1) / 'test_metrics.json').exists()  # --summarise-only writes no run


def test_latency_is_cached_until_remeasure(tmp_path, monkeypatch):
    calls = []
    measure = study.interleaved_latency
    monkeypatch.setattr(study, 'interleaved_latency', lambda timed, *a: calls.append(sorted(timed))
                        or measure(timed, *a))
    arguments = dict(rows=['ghostnet', 'mobilenetv3-small'], seeds=1, root=str(tmp_path), threads=1,
                     summarise_only=True, repeats=2, warmup=1, shape=SHAPE)
    first = run_study(**arguments)
    assert len(calls) == 1 and len(calls[0]) == 4  # both networks, eager and exported, in one interleaved rotation
    assert all(r['exported_latency']['runtime'] == 'openvino fp32' for r in first['rows'])
    second = run_study(**arguments)
    assert len(calls) == 1 and [r['latency'] for r in second['rows']] == [r['latency'] for r in first['rows']]
    run_study(**arguments, remeasure=True)
    assert len(calls) == 2
    run_study(**dict(arguments, rows=['ghostnet']), latency=False)
    assert len(calls) == 2


@pytest.mark.parametrize('key', ['ghostnetv3', 'efficientnet-b0'])
def test_exported_latency_times_the_same_network(key, tmp_path):
    # GhostNetV3 (fused branches) and EfficientNet (mmpretrain's adaptive-padding convs) as the export runs them
    model = build_detector(load_config(str(REPO / ROW[key].config)), deploy=True)
    with torch.no_grad():
        eager = [level for per_level in study.forward_call(model, SHAPE)() for level in per_level]
    exported = study.exported_call(model, SHAPE, threads=1, work_dir=str(tmp_path))()
    assert len(exported) == len(eager)
    for ours, reference in zip(exported, eager):
        scale = reference.abs().max().item() + 1e-6
        assert np.abs(ours - reference.numpy()).max() / scale < 1e-4


def test_a_network_that_does_not_export_keeps_its_pytorch_latency(tmp_path, monkeypatch):
    def fail(*args):
        raise RuntimeError('no tracing today')

    monkeypatch.setattr(study, 'exported_call', fail)
    result = run_study(['mobilenetv3-small'], 1, str(tmp_path), threads=1, summarise_only=True, repeats=1, warmup=0,
                       shape=SHAPE)
    row, = result['rows']
    assert row['latency']['median_ms'] > 0 and row['exported_latency'] is None
    assert 'no OpenVINO ms: the export failed (RuntimeError: no tracing today)' in row['note']
    assert 'no OpenVINO ms' in result['markdown']


def test_full_image_metrics_are_cached_per_checkpoint(tmp_path, monkeypatch):
    root = tmp_path / 'study'
    run = seed_dir(root, 'ghostnet', 0)
    fabricate_test(run / 'test', fabricate_checkpoint(run, 0), random_metrics(np.random.default_rng(0)))
    data = tmp_path / 'trees' / 'annotations'
    data.mkdir(parents=True)
    (data / 'val_full.json').write_text('{}')
    calls = []
    monkeypatch.setattr(study, 'full_image_metrics',
                        lambda cfg, ckpt, root: calls.append(ckpt) or dict(AP=0.1, AP50=0.3, APs=0.0, APm=0.2))
    arguments = dict(rows=['ghostnet'], seeds=1, root=str(root), summarise_only=True, latency=False,
                     full_image=True, data_root=str(tmp_path / 'trees'), shape=SHAPE)
    result = run_study(**arguments)
    assert calls == [str(run / 'iter_600.pth')]
    assert result['rows'][0]['full_image_AP50']['mean'] == 0.3 and 'full-image AP50' in result['markdown']
    run_study(**arguments)
    assert len(calls) == 1
    fabricate_checkpoint(run, 0)  # a new checkpoint is evaluated again
    run_study(**arguments)
    assert len(calls) == 2


def test_full_image_of_a_distilled_checkpoint_is_its_student_s(random_teacher, tmp_path, monkeypatch):
    """The distilled row's checkpoint is evaluated as the plain detector holding its student weights."""
    import ghostdet.inference
    from mmdet.registry import MODELS
    generate_synthetic_coco(str(tmp_path), num_images=3, image_size=(96, 128), size_range=(8, 40), seed=3,
                            split='val_full', num_classes=1)
    cfg = Config.fromfile(str(REPO / ROW['ghostnet-kd'].config))
    cfg.model.teacher.checkpoint = str(random_teacher)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    student = {k[len('student.'):]: v for k, v in state.items() if k.startswith('student.')}
    torch.save(dict(state_dict=state), tmp_path / 'kd.pth')
    torch.save(dict(state_dict=student), tmp_path / 'plain.pth')
    loaded, detector = [], ghostdet.inference.PytorchDetector
    monkeypatch.setattr(ghostdet.inference, 'PytorchDetector', lambda config, checkpoint, **kwargs: loaded.append(
        (config.model.type, torch.load(checkpoint)['state_dict'])) or detector(config, checkpoint, **kwargs))
    distilled = study.full_image_metrics(cfg, str(tmp_path / 'kd.pth'), str(tmp_path))
    assert loaded[0][0] == 'RTMDet' and loaded[0][1].keys() == student.keys()
    assert all(torch.equal(loaded[0][1][k], v) for k, v in student.items())
    plain = study.full_image_metrics(Config.fromfile(str(REPO / ROW['ghostnet'].config)), str(tmp_path / 'plain.pth'),
                                     str(tmp_path))
    assert set(distilled) == {'AP', 'AP50', 'APs', 'APm'} and distilled == plain


# (c) resumability, order, jobs, teacher ---------------------------------------------------------------------------

def test_finished_runs_are_not_repeated_and_the_rest_run_seed_major(tmp_path):
    root = tmp_path / 'study'
    gn, sv2 = (Path(ROW[k].config).stem for k in ('ghostnet', 'shufflenetv2'))
    seed_dir(root, 'ghostnet', 0).mkdir(parents=True)
    (seed_dir(root, 'ghostnet', 0) / 'test_metrics.json').write_text(json.dumps(random_metrics(
        np.random.default_rng(0))))  # finished earlier
    checkpoint = fabricate_checkpoint(seed_dir(root, 'shufflenetv2', 1), 1)  # trained and tested by hand
    fabricate_test(seed_dir(root, 'shufflenetv2', 1) / 'test', checkpoint, random_metrics(np.random.default_rng(1)))
    fabricate_checkpoint(seed_dir(root, 'ghostnet', 2), 2, 'iter_300.pth')  # interrupted
    tools = FakeTools()
    arguments = dict(rows=['shufflenetv2', 'ghostnet'], seeds=3, root=str(root), threads=2, latency=False,
                     shape=SHAPE, run=tools)
    result = run_study(**arguments)

    assert tools.trained() == [(sv2, 0, False), (gn, 1, False), (gn, 2, True), (sv2, 2, False)]
    tested = [(c['stem'], c['seed']) for c in tools.commands if c['tool'] == 'test.py']
    assert tested == [(sv2, 0), (gn, 1), (gn, 2), (sv2, 2)]
    assert all(c['env']['OMP_NUM_THREADS'] == '2' and c['cwd'] == str(REPO) for c in tools.commands)
    assert [len(r['per_seed']) for r in result['rows']] == [3, 3] and result['failures'] == []
    assert (seed_dir(root, 'shufflenetv2', 1) / 'test_metrics.json').is_file()  # adopted, as run_seeds would
    summary = json.loads((root / sv2 / 'summary.json').read_text())
    assert sorted(summary['per_seed']) == ['0', '1', '2']  # the row's summary covers all its finished seeds

    tools.commands.clear()
    run_study(**arguments)
    assert tools.commands == []


def test_a_run_another_process_is_writing_is_left_alone(tmp_path, capsys):
    log = seed_dir(tmp_path, 'ghostnet', 0) / '20260101_000000' / '20260101_000000.log'
    log.parent.mkdir(parents=True)
    log.write_text('Iter(train) [ 20/600] ...\n')
    tools = FakeTools()
    result = run_study(['ghostnet'], 2, str(tmp_path), latency=False, shape=SHAPE, run=tools)
    assert [seed for _, seed, _ in tools.trained()] == [1]
    assert 'left alone, its log was written' in capsys.readouterr().out
    assert 'seed 0 running elsewhere' in result['markdown']
    os.utime(log, (time.time() - study.BUSY_S - 1, ) * 2)  # that process is gone: the seed is run
    run_study(['ghostnet'], 2, str(tmp_path), latency=False, shape=SHAPE, run=tools)
    assert [seed for _, seed, _ in tools.trained()] == [1, 0]


def test_study_order_is_seed_major():
    rows = select_rows(['ghostnet', 'mobilenetv2'])
    assert [(r.key, s) for r, s in study_order(rows, range(2))] == [
        ('ghostnet', 0), ('mobilenetv2', 0), ('ghostnet', 1), ('mobilenetv2', 1)]


def test_copied_run_folder_is_picked_up_when_its_checkpoint_is_the_original(tmp_path):
    """A run folder copied from a seeds sweep: its test log names the original checkpoint."""
    original = fabricate_checkpoint(tmp_path / 'seeds' / 'seed0', 0)
    copy = seed_dir(tmp_path / 'study', 'ghostnet', 0)
    copy.mkdir(parents=True)
    (copy / 'iter_600.pth').write_bytes(original.read_bytes())
    (copy / 'last_checkpoint').write_text(str(original))
    fabricate_test(copy / 'test', original, random_metrics(np.random.default_rng(0)))
    other = seed_dir(tmp_path / 'study', 'ghostnet', 1)  # its original differs from the copy: tested again
    fabricate_checkpoint(other, 1)
    fabricate_test(other / 'test', fabricate_checkpoint(tmp_path / 'seeds' / 'seed1', 1, 'iter_600.pth'),
                   random_metrics(np.random.default_rng(1)))
    torch.save(dict(meta=dict(seed=1), state_dict={'changed': torch.ones(1)}), tmp_path / 'seeds/seed1/iter_600.pth')
    tools = FakeTools()
    run_study(['ghostnet'], 2, str(tmp_path / 'study'), latency=False, shape=SHAPE, run=tools)
    assert [(c['tool'], c['seed']) for c in tools.commands] == [('test.py', 1)]


def test_jobs_run_at_once_but_never_two_of_one_row(tmp_path):
    tools = FakeTools(train_seconds=5.0)  # long enough for the second job to start on a loaded machine
    keys = ['ghostnet', 'shufflenetv2', 'mobilenetv3-small']
    result = run_study(keys, 2, str(tmp_path), threads=2, jobs=2, latency=False, shape=SHAPE, run=tools)
    stems = [Path(ROW[k].config).stem for k in keys]
    assert sorted((stem, seed) for stem, seed, _ in tools.trained()) == sorted(
        (stem, seed) for stem in stems for seed in range(2))  # each once
    assert max(len(running) for running in tools.overlaps) == 2
    assert all(len({stem for stem, _ in running}) == len(running) for running in tools.overlaps)
    assert all(c['env']['OMP_NUM_THREADS'] == '1' for c in tools.commands)
    assert result['failures'] == [] and all(len(r['per_seed']) == 2 for r in result['rows'])


def test_a_failed_run_costs_its_row_not_the_study(tmp_path):
    failing = Path(ROW['shufflenetv2'].config).stem
    tools = FakeTools(fail_stem=failing)
    result = run_study(['ghostnet', 'shufflenetv2'], 2, str(tmp_path), latency=False, shape=SHAPE, run=tools)
    assert [(stem, seed) for stem, seed, _ in tools.trained()] == [
        (Path(ROW['ghostnet'].config).stem, 0), (failing, 0), (Path(ROW['ghostnet'].config).stem, 1)]
    assert result['failures'] == ['ShuffleNetV2 1.0x, seed 0']
    assert 'seed 0 failed' in result['markdown']


@pytest.mark.parametrize('jobs', [1, 2])
def test_distilled_rows_skip_without_teacher_or_wait_for_it(jobs, tmp_path, capsys):
    teacher = tmp_path / 'teacher' / 'iter_1000.pth'
    tools = FakeTools(train_seconds=0.2)
    arguments = dict(rows=['ghostnet', 'ghostnet-kd'], seeds=1, root=str(tmp_path / 'study'), latency=False,
                     teacher=str(teacher), jobs=jobs, shape=SHAPE, run=tools)
    result = run_study(**arguments)
    assert tools.trained() == [(Path(ROW['ghostnet'].config).stem, 0, False)]
    assert f'the teacher checkpoint {teacher} is missing' in capsys.readouterr().out
    assert 'skipped: no teacher checkpoint' in result['markdown']

    tools.commands.clear()
    result = run_study(**arguments, train_teacher=True)
    kd = Path(ROW['ghostnet-kd'].config).stem
    assert tools.trained() == [(Path(TEACHER_CONFIG).stem, None, False), (kd, 0, False)]
    assert tools.commands[0]['command'][tools.commands[0]['command'].index('--work-dir') + 1] == str(teacher.parent)
    assert f'model.teacher.checkpoint={teacher}' in tools.commands[1]['command']
    assert len(result['rows'][1]['per_seed']) == 1 and result['rows'][1]['note'] == ''


# (d) bad input ----------------------------------------------------------------------------------------------------

def test_unknown_row_is_refused_before_any_work(tmp_path):
    tools = FakeTools()
    with pytest.raises(ValueError, match=r"unknown study row\(s\) \['resnet50'\].*ghostnetv3 \(GhostNetV3 1\.0x\)"):
        run_study(['ghostnet', 'resnet50'], 1, str(tmp_path / 'study'), run=tools)
    assert tools.commands == [] and not (tmp_path / 'study').exists()
    for bad in (dict(seeds=0), dict(jobs=0), dict(threads=0)):
        with pytest.raises(ValueError, match='must be at least 1'):
            run_study(['ghostnet'], **{'seeds': 1, **bad}, root=str(tmp_path / 'study'), run=tools)
    assert not (tmp_path / 'study').exists()


def test_cli_names_the_valid_rows(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('backbone_study', REPO / 'tools/experiments/backbone_study.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    with pytest.raises(SystemExit, match=r'unknown study row.*mobilenetv3-small \(MobileNetV3-small\)'):
        cli.main(['--rows', 'mobilenet', '--root', str(tmp_path / 'study'), '--summarise-only'])
    assert not (tmp_path / 'study').exists()
    capsys.readouterr()
    cli.main(['--list'])
    listed = capsys.readouterr().out
    assert all(row.key in listed and row.config in listed for row in ROWS)
