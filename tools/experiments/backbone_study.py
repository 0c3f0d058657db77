"""Backbone study on the tree data (issue 17): the tree detector with every backbone / GhostNetV3 recipe,
trained and tested for N seeds (resumable), with params, GFLOPs and CPU latency of the inference form (eager and
exported).

    python tools/experiments/backbone_study.py [--rows KEY ...] [--seeds 3] [--root work_dirs/study]
        [--threads 2] [--jobs 1] [--summarise-only] [--no-latency] [--remeasure] [--repeats 20] [--full-image]
        [--data-root data/trees] [--train-teacher] [--teacher CKPT] [--list]

Runs every (row, seed) not finished yet seed-major (every row's seed 0 first) through tools/train.py and
tools/test.py into ROOT/<config-stem>/seed<k>/ (the layout of tools/experiments/seeds.py, whose finished runs it picks
up and never repeats; an interrupted run is resumed), then writes ROOT/study.md (table), study.json and study.png
(AP50 against latency). The table and plot are rewritten after every run. Run it from the repository root.
The distilled rows need the teacher checkpoint (work_dirs/distill_trees/teacher/iter_1000.pth): without it they are
skipped with a message; --train-teacher trains it first, --teacher names another one.
"""
import argparse
import sys
from pathlib import Path

from ghostdet.analysis.study import ROWS, run_study


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', nargs='+', metavar='KEY', help='rows to run, by key or name (--list); default: all')
    parser.add_argument('--seeds', type=int, default=3, help='seeds 0 .. N-1 per row (default 3)')
    parser.add_argument('--root', default='work_dirs/study', help='study folder (default work_dirs/study)')
    parser.add_argument('--threads', type=int, default=2,
                        help='CPU threads: torch threads of the latency measurement; each training / test gets '
                        'OMP_NUM_THREADS = threads / jobs (default 2)')
    parser.add_argument('--jobs', type=int, default=1, help='trainings at once, never two of one row (default 1)')
    parser.add_argument('--summarise-only', action='store_true', help='train nothing: report what is finished')
    parser.add_argument('--no-latency', action='store_true', help='measure no latency (cached values still shown)')
    parser.add_argument('--remeasure', action='store_true', help='time every selected row again, all together')
    parser.add_argument('--repeats', type=int, default=20, help='timed rounds of the latency measurement')
    parser.add_argument('--full-image', action='store_true',
                        help='also AP50 on the whole held-out regions, sliced 640 px (cached per checkpoint)')
    parser.add_argument('--data-root', default='data/trees', help='tree data of --full-image (default data/trees)')
    parser.add_argument('--train-teacher', action='store_true',
                        help='train the distillation teacher first if its checkpoint is missing')
    parser.add_argument('--teacher', metavar='CKPT', help='teacher checkpoint of the distilled rows '
                        '(default: the configs\' work_dirs/distill_trees/teacher/iter_1000.pth)')
    parser.add_argument('--list', action='store_true', help='print the rows and exit')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        for row in ROWS:
            print(f'{row.key:22} {row.group:9} {row.name:40} {row.config}')
        return
    try:
        result = run_study(args.rows, args.seeds, args.root, threads=args.threads, jobs=args.jobs,
                           summarise_only=args.summarise_only, latency=not args.no_latency,
                           remeasure=args.remeasure, repeats=args.repeats, full_image=args.full_image,
                           data_root=args.data_root, train_teacher=args.train_teacher, teacher=args.teacher,
                           repo=Path(__file__).resolve().parents[2])
    except ValueError as error:  # bad arguments, found before any work
        sys.exit(f'error: {error}')
    if result['failures']:
        sys.exit('failed: ' + '; '.join(result['failures']) + ' (rerun the same command to retry them)')


if __name__ == '__main__':
    main()
