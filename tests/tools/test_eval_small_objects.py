"""tools/analysis_tools/eval_small_objects.py on json and pickle results, against pycocotools."""
import importlib.util
import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'evaluation'))
from random_coco import pycocotools_eval, random_coco_problem  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'eval_small_objects', os.path.join(REPO, 'tools', 'analysis_tools', 'eval_small_objects.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


@pytest.fixture
def files(tmp_path):
    gt_dict, dets = random_coco_problem(11)
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(gt_dict))
    res = tmp_path / 'model_a.bbox.json'
    res.write_text(json.dumps(dets))
    return gt_dict, dets, str(ann), str(res)


def test_summary_json_matches_pycocotools_and_plot_written(files, tmp_path):
    gt_dict, dets, ann, res = files
    out = tmp_path / 'out'
    tool.main([ann, res, '--out-dir', str(out), '--classwise'])
    summary = json.loads((out / 'summary.json').read_text())
    ref = pycocotools_eval(gt_dict, dets)
    keys = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl']
    np.testing.assert_allclose([summary[k] for k in keys], ref.stats, rtol=0, atol=1e-12)
    for name in ('verytiny', 'tiny', 'small', 'medium'):
        assert {f'AP_{name}', f'AP50_{name}', f'AR100_{name}'} <= set(summary)
    aitod = pycocotools_eval(gt_dict, dets, area_ranges={'vt': (0, 64), 't': (64, 256)}, max_dets=[1, 10, 100, 1500])
    tiny = aitod.eval['precision'][0, :, :, 1, 3]
    assert summary['AP50_tiny'] == pytest.approx(tiny[tiny > -1].mean(), abs=1e-12)
    assert (out / 'ap_recall_vs_size.png').stat().st_size > 10000
    assert set(json.loads((out / 'classwise.json').read_text())) == {'all', 'verytiny', 'tiny', 'small', 'medium'}


def test_pickle_from_test_py_gives_the_same_numbers(files, tmp_path):
    gt_dict, dets, ann, res = files
    cat_index = {c['id']: i for i, c in enumerate(gt_dict['categories'])}
    samples = []
    for img in gt_dict['images']:
        mine = [d for d in dets if d['image_id'] == img['id']]
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (d['bbox'] for d in mine)],
                             dtype=torch.float64).reshape(-1, 4)
        samples.append(dict(img_id=img['id'], ori_shape=(480, 640), pred_instances=dict(
            bboxes=boxes, scores=torch.tensor([d['score'] for d in mine], dtype=torch.float64),
            labels=torch.tensor([cat_index[d['category_id']] for d in mine]))))
    pkl = tmp_path / 'model_b.pkl'
    pkl.write_bytes(pickle.dumps(samples))
    out = tmp_path / 'two'
    both = tool.main([ann, res, str(pkl), '--labels', 'json', 'pickle', '--out-dir', str(out),
                      '--area-ranges', '{"tiny": [0, 256], "rest": [256, 1e10]}'])
    for key, value in both['json'].items():
        assert both['pickle'][key] == pytest.approx(value, abs=1e-9), key
    assert set(json.loads((out / 'summary.json').read_text())) == {'json', 'pickle'}
    assert (out / 'ap_recall_vs_size.png').exists()


def test_clear_errors(files, tmp_path):
    gt_dict, dets, ann, res = files
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(d, image_id=999999) for d in dets[:3]]))
    with pytest.raises(SystemExit, match='image ids are not in the annotation file'):
        tool.main([ann, str(bad)])
    bad.write_text(json.dumps([dict(d, category_id=777) for d in dets[:3]]))
    with pytest.raises(SystemExit, match='category ids are not in the annotation file'):
        tool.main([ann, str(bad)])
    bad.write_text(json.dumps({'annotations': dets}))
    with pytest.raises(SystemExit, match='list of detections'):
        tool.main([ann, str(bad)])
    bad.write_text(json.dumps([{'image_id': 1, 'bbox': [0, 0, 1]}]))
    with pytest.raises(SystemExit, match='detection #0'):
        tool.main([ann, str(bad)])
    bad.write_text('{not json')
    with pytest.raises(SystemExit, match='cannot read'):
        tool.main([ann, str(bad)])
    with pytest.raises(SystemExit, match='swap'):
        tool.main([res, res])
    with pytest.raises(SystemExit, match='--area-ranges'):
        tool.main([ann, res, '--area-ranges', 'huge'])
    (tmp_path / 'x.pkl').write_bytes(pickle.dumps([{'boxes': 1}]))
    with pytest.raises(SystemExit, match='pred_instances'):
        tool.main([ann, str(tmp_path / 'x.pkl')])
