"""COCO box evaluation speed as users time it: pycocotools, faster-coco-eval, hotcoco and ghostdet end to end from
json files, interleaved in one process, and ghostdet's eval_small_objects.py as a whole process (what is timed:
ghostdet/evaluation/speed.py).

    python tools/analysis_tools/benchmark_eval.py [--num-images 5000] [--dets-per-image 100] [--repeats 3]
"""
import argparse

from ghostdet.evaluation.speed import benchmark_backends


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num-images', type=int, default=5000)
    parser.add_argument('--dets-per-image', type=int, default=100)
    parser.add_argument('--repeats', type=int, default=3, help='interleaved rounds')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for line in benchmark_backends(args.num_images, args.dets_per_image, args.repeats, args.seed):
        print(line, flush=True)


if __name__ == '__main__':
    main()
