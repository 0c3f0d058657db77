"""Export a trained single-stage detector to ONNX (mmdeploy's end2end convention) and OpenVINO IR, in fp32, bf16
(OpenVINO) or int8 (post-training static quantisation).

    python tools/deployment/export.py CONFIG CHECKPOINT --out-dir DIR [--shape H W] [--dynamic-batch]
        [--backend onnxruntime|openvino|ncnn] [--precision fp32|bf16|int8] [--calib-images DIR_OR_ANN] [--calib-num N]
        [--force] [--cfg-options k=v ...]

DIR gets end2end.onnx (input `input`: normalised N x 3 x H x W; outputs `dets` (N, K, 5: x1, y1, x2, y2, score in
input pixels) and `labels` (N, K), -1 for unused rows; box decoding, score threshold, top-k and class-aware NMS in
the graph), end2end.int8.onnx (int8), end2end.xml/.bin (openvino), deploy.json (input size, mean/std, channel order,
test pipeline, class names, thresholds, source, versions). Run it with
`ghostdet.inference.build_detector('onnxruntime', model_dir=DIR)`, tools/infer.py --model DIR or evaluate it with
tools/deployment/test.py CONFIG DIR.
"""
import argparse

from mmengine.config import DictAction

import ghostdet  # noqa: F401
from ghostdet.deploy import export_detector
from ghostdet.inference import EXPORTED_BACKENDS


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True, help='export folder (must not exist unless --force)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='static input size (default: the config\'s test resize scale)')
    parser.add_argument('--dynamic-batch', action='store_true', help='any batch size instead of 1')
    parser.add_argument('--backend', default='onnxruntime', choices=EXPORTED_BACKENDS)
    parser.add_argument('--precision', default='fp32', choices=('fp32', 'bf16', 'int8'),
                        help='bf16: OpenVINO only; int8: QDQ graph calibrated on --calib-images')
    parser.add_argument('--calib-images', metavar='DIR_OR_ANN',
                        help='int8 calibration images: a folder or a COCO json (default: the config\'s training set)')
    parser.add_argument('--calib-num', type=int, default=64, help='at most this many calibration images')
    parser.add_argument('--force', action='store_true', help='replace an existing --out-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args()
    out = export_detector(args.config, args.checkpoint, args.out_dir, shape=args.shape,
                          dynamic_batch=args.dynamic_batch, backend=args.backend, precision=args.precision,
                          calib_images=args.calib_images, calib_num=args.calib_num, force=args.force,
                          cfg_options=args.cfg_options)
    print(f'exported to {out}')


if __name__ == '__main__':
    main()
