"""Full-image tree evaluation: the main-job detector on each held-out region as one whole image, predicted the ways a
large image can be (resized to a test scale, native in one forward, sliced at the training crop size and at 640,
with and without a full-image pass, every merge), scored with pycocotools.

    python tools/experiments/full_image_trees.py [--config CONFIG] [--checkpoint CKPT] [--data-root data/trees]
        [--out-dir work_dirs/full_image_trees] [--test-scale 640] [--max-dets 300]

Ground truth: ``annotations/val_full.json`` (the val tiles' boxes and ignore regions on the whole regions; made by
``tools/dataset_converters/deepforest_to_coco.py``). The detector keeps its own ``test_cfg`` (score >= 0.05, up to
300 per forward); rows say which score threshold follows; merging uses IoU / IoS 0.5 with 20 % slice overlap.
AP, AP50, APs and APm are pycocotools' (COCO area ranges, ignore regions honoured) at ``--max-dets`` detections per
image (the largest region holds ~150 trees, so COCO's 100 would cap recall). Writes ``table.md``, ``metrics.json``,
``ap_by_setting.png`` (the numbers as bars) and ``detections.png`` (the largest region: ground truth, the resized
setting, slices of 256 and the best setting).
"""
import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from pycocotools.coco import COCO

from ghostdet.analysis.study import COCO_AREAS, coco_area_summary
from ghostdet.datasets.trees import MAIN_JOB_CONFIG, MAIN_JOB_WORK_DIR
from ghostdet.inference import PytorchDetector, SlicedPredictor, SliceOptions, draw_detections, read_image
from ghostdet.testing.coco import pycocotools_eval

REPO = Path(__file__).resolve().parents[2]
# (row name, pipeline, SliceOptions). First every detection the detector keeps (score >= 0.05, what AP wants); then
# the merges at the CLI's default score threshold 0.3, since merging low-score boxes enlarges the merged boxes (SAHI
# switches any merge to NMS below a confidence of 0.1 for that reason; the GREEDYNMM row at 0 shows why).
SETTINGS = [
    ('whole region resized to {scale} (one forward)', 'resized', dict()),
    ('whole region, native resolution (one forward)', 'native', dict()),
    ('sliced 256 (training crop), NMS IoU', 'native', dict(slice_size=256)),
    ('sliced 640, NMS IoU', 'native', dict(slice_size=640)),
    ('sliced 256 + full-image pass, NMS IoU', 'native', dict(slice_size=256, full_image_pass=True)),
    ('sliced 640 + full-image pass, NMS IoU', 'native', dict(slice_size=640, full_image_pass=True)),
    ('sliced 256, GREEDYNMM IoS (SAHI\'s default merge)', 'native', dict(slice_size=256, merge='greedy_nmm',
                                                                         match_metric='ios')),
    ('whole region, native resolution (one forward)', 'native', dict(score_thr=0.3)),
    ('sliced 256, NMS IoU', 'native', dict(slice_size=256, score_thr=0.3)),
    ('sliced 256, NMS IoS', 'native', dict(slice_size=256, match_metric='ios', score_thr=0.3)),
    ('sliced 256, GREEDYNMM IoU', 'native', dict(slice_size=256, merge='greedy_nmm', score_thr=0.3)),
    ('sliced 256, GREEDYNMM IoS', 'native', dict(slice_size=256, merge='greedy_nmm', match_metric='ios',
                                                 score_thr=0.3)),
    ('sliced 256, NMM IoU', 'native', dict(slice_size=256, merge='nmm', score_thr=0.3)),
    ('sliced 256, NMM IoS', 'native', dict(slice_size=256, merge='nmm', match_metric='ios', score_thr=0.3)),
]

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=str(REPO / MAIN_JOB_CONFIG), help=f'default: {MAIN_JOB_CONFIG}')
    parser.add_argument('--checkpoint', help=f'default: {MAIN_JOB_WORK_DIR}/last_checkpoint (make demo)')
    parser.add_argument('--data-root', default='data/trees')
    parser.add_argument('--out-dir', default='work_dirs/full_image_trees')
    parser.add_argument('--test-scale', type=int, default=640, help='fixed test scale of the resized setting')
    parser.add_argument('--max-dets', type=int, default=300)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def resized_pipeline(scale: int) -> list:
    """What an RTMDet COCO config's test pipeline does to any image: keep-ratio resize to the scale, pad."""
    return [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(scale, scale), keep_ratio=True),
            dict(type='Pad', size=(scale, scale), pad_val=dict(img=(114, 114, 114))),
            dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]


def main():
    args = parse_args()
    checkpoint = args.checkpoint or (REPO / MAIN_JOB_WORK_DIR / 'last_checkpoint').read_text().strip()
    root, out = Path(args.data_root), Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gt = json.loads((root / 'annotations' / 'val_full.json').read_text())
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    cat_ids = [c['id'] for c in gt['categories']]
    images = {im['id']: read_image(str(root / 'val_full' / im['file_name'])) for im in gt['images']}
    detectors = dict(native=PytorchDetector(args.config, checkpoint, device=args.device),
                     resized=PytorchDetector(args.config, checkpoint, device=args.device, cfg_options={
                         'test_dataloader.dataset.pipeline': resized_pipeline(args.test_scale)}))
    print(f'{len(images)} regions, {sum(a["iscrowd"] == 0 for a in gt["annotations"])} trees; checkpoint '
          f'{checkpoint}')

    model_thr = detectors['native'].cfg.model.test_cfg.get('score_thr', 0.0)  # what the detector itself keeps
    rows, predictions = [], {}
    for name, pipeline, kwargs in SETTINGS:
        name = name.format(scale=args.test_scale)
        options = SliceOptions(**{'score_thr': 0.0, **kwargs})
        predictor = SlicedPredictor(detectors[pipeline], options)
        start = time.perf_counter()
        dets = {image_id: predictor.predict(image) for image_id, image in images.items()}
        seconds = time.perf_counter() - start
        results = [dict(image_id=image_id, category_id=cat_ids[label], bbox=[x1, y1, x2 - x1, y2 - y1],
                        score=float(score))
                   for image_id, d in dets.items()
                   for (x1, y1, x2, y2), score, label in zip(d.bboxes.tolist(), d.scores, d.labels)]
        metrics = coco_area_summary(pycocotools_eval(gt, results, area_ranges=COCO_AREAS,
                                                     max_dets=[1, 10, args.max_dets]))
        windows = sum(len(predictor.windows(*im.shape[:2])) for im in images.values())
        rows.append(dict(setting=name, score_thr=max(options.score_thr, model_thr), forwards=windows,
                         seconds=round(seconds, 2), **metrics))
        predictions[len(rows) - 1] = dets
        print(f'{name}, score >= {rows[-1]["score_thr"]}: '
              + ', '.join(f'{k} {v:.3f}' for k, v in metrics.items()) + f' ({seconds:.1f} s)')

    table = ['| setting | score >= | forwards | s (CPU) | AP | AP50 | APs | APm |',
             '|---|---|---|---|---|---|---|---|']
    table += [f'| {r["setting"]} | {r["score_thr"]:g} | {r["forwards"]} | {r["seconds"]:.1f} | '
              f'{r["AP"]:.3f} | {r["AP50"]:.3f} | {r["APs"]:.3f} | {r["APm"]:.3f} |' for r in rows]
    (out / 'table.md').write_text('\n'.join(table) + '\n')
    (out / 'metrics.json').write_text(json.dumps(rows, indent=1))
    print('\n'.join(table))
    plot_metrics(rows, out / 'ap_by_setting.png')
    best = max(range(len(rows)), key=lambda i: rows[i]['AP'])
    draw_largest(gt, images, [(rows[i]['setting'], predictions[i]) for i in (0, 2, best)],
                 detectors['native'].class_names, out / 'detections.png')
    print(f'best AP: {rows[best]["setting"]}; wrote {out}/table.md, metrics.json, ap_by_setting.png, detections.png')


def plot_metrics(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = ('AP', 'AP50', 'APs', 'APm')
    fig, ax = plt.subplots(figsize=(12, 5))
    y = np.arange(len(rows))
    for i, key in enumerate(keys):
        ax.barh(y + (i - 1.5) * 0.2, [max(r[key], 0) for r in rows], height=0.2, label=key)
    ax.set_yticks(y, [f'{r["setting"]}, score >= {r["score_thr"]:g}' for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel('pycocotools AP (full held-out regions)')
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_largest(gt, images, settings, class_names, path, score_thr=0.3):
    """The largest region stacked: ground truth (white), then each ``(name, detections)`` setting's detections
    scoring >= 0.3."""
    image_id = max(images, key=lambda i: images[i].size)
    image = images[image_id]
    truth = np.array([[x, y, x + w, y + h] for a in gt['annotations'] if a['image_id'] == image_id
                      and not a['iscrowd'] for x, y, w, h in [a['bbox']]])
    panels = [image.copy()]
    for x1, y1, x2, y2 in truth.astype(int):
        cv2.rectangle(panels[0], (x1, y1), (x2, y2), (255, 255, 255), 2)
    for name, predictions in settings:
        dets = predictions[image_id]
        panel = draw_detections(image, dets.select(dets.scores >= score_thr), class_names)
        cv2.putText(panel, name, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        panels.append(panel)
    cv2.putText(panels[0], 'ground truth', (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imwrite(str(path), np.concatenate(panels, axis=0))


if __name__ == '__main__':
    main()
