"""Train and evaluate a config for N seeds and print mean ± std of every metric (resumable).

    python tools/experiments/seeds.py CONFIG [--seeds 3] [--root work_dirs/seeds] [--cfg-options k=v ...]

Runs tools/train.py and tools/test.py per seed into ROOT/<config-stem>/seed<k>/ (checkpoint, test/,
test_metrics.json); finished seeds, including runs made by hand in that layout, are not repeated, an unfinished
one is resumed. Writes ROOT/<config-stem>/summary.md (one row per seed, then mean ± std) and summary.json.
The distillation pair: run it once for the student config and once for the distillation config (its teacher
checkpoint as in the config, or --cfg-options model.teacher.checkpoint=PATH).
"""
import argparse
from pathlib import Path

from ghostdet.engine.seeds import run_seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--seeds', type=int, default=3, help='number of seeds: 0 .. N-1 (default 3)')
    parser.add_argument('--first-seed', type=int, default=0)
    parser.add_argument('--root', default='work_dirs/seeds', help='sweep folder (default work_dirs/seeds)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='overrides passed to both tools/train.py and tools/test.py')
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f'--seeds must be at least 1, got {args.seeds}')
    result = run_seeds(args.config, str(Path(__file__).resolve().parents[1]),
                       range(args.first_seed, args.first_seed + args.seeds), args.root, args.cfg_options)
    print(result['markdown'])


if __name__ == '__main__':
    main()
