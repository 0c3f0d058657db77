"""tools/infer.py: outputs against the library's predictions, bad inputs, resuming and refusing to overwrite."""
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from ghostdet.inference import PytorchDetector, SlicedPredictor, SliceOptions

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tests' / 'inference'))
from tiny_detector import write_tiny_detector  # noqa: E402

spec = importlib.util.spec_from_file_location('infer_tool', REPO / 'tools' / 'infer.py')
infer_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(infer_tool)

SLICING = ['--slice', '48', '64', '--overlap', '0.25', '--score-thr', '0.2', '--batch-size', '3']


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, synthetic_coco, make_tiny_config):
    return write_tiny_detector(tmp_path_factory.mktemp('detector'), synthetic_coco, make_tiny_config)


@pytest.fixture
def inputs(tmp_path, synthetic_coco):
    """Two good images (one in a sub-folder, one as JPEG), a corrupt PNG and a truncated JPEG."""
    folder = tmp_path / 'images'
    (folder / 'sub').mkdir(parents=True)
    good = sorted((synthetic_coco / 'val').glob('*.png'))[:2]
    shutil.copy(good[0], folder / 'a.png')
    cv2.imwrite(str(folder / 'sub' / 'b.jpg'), cv2.imread(str(good[1])), [cv2.IMWRITE_JPEG_QUALITY, 98])
    (folder / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4)
    jpeg = (folder / 'sub' / 'b.jpg').read_bytes()
    (folder / 'cut.jpg').write_bytes(jpeg[:len(jpeg) // 2])
    return folder


def model_args(tiny):
    return ['--config', str(tiny.config), '--checkpoint', str(tiny.checkpoint)]


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def test_outputs_equal_library_predictions(tiny, inputs, tmp_path):
    out = tmp_path / 'out'
    result = subprocess.run([sys.executable, str(REPO / 'tools' / 'infer.py'), str(inputs), *model_args(tiny),
                             '--out-dir', str(out), *SLICING], cwd=REPO, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))  # one thread as here: the same floats
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'corrupt.png' in result.stderr and 'cut.jpg' in result.stderr and 'ETA' in result.stderr
    assert sorted(Path(line.split(':')[0]).name for line in (out / 'failures.txt').read_text().split('\n')
                  if line) == ['corrupt.png', 'cut.jpg']

    rows = read_csv(out / 'detections.csv')
    assert rows[0] == ['image_path', 'xmin', 'ymin', 'xmax', 'ymax', 'label', 'score']
    predictor = SlicedPredictor(PytorchDetector(tiny.config, tiny.checkpoint),
                                SliceOptions(slice_size=(48, 64), overlap=0.25, score_thr=0.2, batch_size=3))
    results = json.loads((out / 'results.json').read_text())
    for name in ('a.png', 'sub/b.jpg'):
        dets = predictor.predict(cv2.imread(str(inputs / name)))
        mine = [r for r in rows[1:] if r[0] == name]
        assert len(mine) == len(dets) > 0
        # as the CSV writes them (2 decimals for boxes, 4 for scores), compared as sets (equal scores tie)
        expected = [[*(f'{v:.2f}' for v in box), tiny.classes[label], f'{score:.4f}']
                    for box, score, label in zip(dets.bboxes, dets.scores, dets.labels)]
        assert sorted(r[1:] for r in mine) == sorted(expected)
        coco = [r for r in results if r['file_name'] == name]
        assert sorted((*r['bbox'], r['score'], r['category_name']) for r in coco) == sorted(
            (x1, y1, x2 - x1, y2 - y1, float(score), tiny.classes[label])
            for (x1, y1, x2, y2), score, label in zip(dets.bboxes.tolist(), dets.scores, dets.labels))
        drawn = cv2.imread(str(out / 'vis' / (name + '.jpg' if name.endswith('.png') else name)))
        assert drawn.shape == cv2.imread(str(inputs / name)).shape
    assert len({r['image_id'] for r in results}) == 2


def test_resume_refuse_and_force(tiny, inputs, tmp_path, capsys):
    (inputs / 'corrupt.png').unlink()
    (inputs / 'cut.jpg').unlink()
    out = tmp_path / 'out'
    args = [str(inputs), *model_args(tiny), '--out-dir', str(out), *SLICING, '--no-draw']
    infer_tool.main(args)
    complete = read_csv(out / 'detections.csv')
    results = (out / 'results.json').read_text()

    with pytest.raises(SystemExit, match='already holds results'):
        infer_tool.main(args)
    # a run killed while writing image b: its record missing, a partial CSV row written
    (out / 'per_image' / 'sub' / 'b.jpg.json').unlink()
    with open(out / 'detections.csv', 'a') as f:
        f.write('sub/b.jpg,1.0,2')
    (out / 'results.json').unlink()
    capsys.readouterr()
    infer_tool.main(args + ['--skip-existing'])
    assert 'skipping 1 finished image(s) of 2' in capsys.readouterr().err
    assert read_csv(out / 'detections.csv') == complete
    assert (out / 'results.json').read_text() == results

    with pytest.raises(SystemExit, match='other settings.*score_thr'):
        infer_tool.main(args + ['--score-thr', '0.9', '--skip-existing'])
    infer_tool.main(args + ['--score-thr', '0.9', '--force'])
    assert len(read_csv(out / 'detections.csv')) < len(complete)


@pytest.mark.parametrize('extra, message', [
    (['--overlap', '1.0'], r'overlap must be in \[0, 1\)'), (['--slice', '0'], 'slice size must be positive'),
    (['--slice', '1', '2', '3'], '--slice takes H W or one N'), (['--match-thr', '0'], 'match threshold'),
    (['--batch-size', '0'], 'batch size')])
def test_bad_options_fail_before_work(tiny, inputs, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        infer_tool.main([str(inputs), *model_args(tiny), '--out-dir', str(tmp_path / 'out'), *extra])
    assert exit_info.value.code == 2
    assert message.replace('\\', '') in capsys.readouterr().err.replace('\\', '')
    assert not (tmp_path / 'out').exists()


def test_bad_paths_fail_before_work(tiny, inputs, tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    with pytest.raises(SystemExit, match='cannot write to the output folder'):
        infer_tool.main([str(inputs), *model_args(tiny), '--out-dir', str(blocker / 'out')])
    with pytest.raises(SystemExit, match="no image found for input '.*nothing/\\*.png'"):
        infer_tool.main([str(tmp_path / 'nothing' / '*.png'), *model_args(tiny), '--out-dir', str(tmp_path / 'o')])
    with pytest.raises(SystemExit):
        infer_tool.main([str(inputs), '--config', str(tiny.config), '--out-dir', str(tmp_path / 'o')])
    assert 'either --config CONFIG --checkpoint CKPT or --model EXPORT_DIR' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()
