"""Write a deterministic synthetic COCO detection dataset (see ghostdet/datasets/synthetic.py).

    python tools/dataset_converters/make_synthetic_coco.py data/synthetic --num-images 200 --size 256 256 --seed 0

Writes OUT_DIR/<split>/*.png and OUT_DIR/annotations/<split>.json. Existing files with different content are never
replaced without --force.
"""
import argparse

from ghostdet.datasets.synthetic import generate_synthetic_coco


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir')
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--size', type=int, nargs=2, default=(256, 256), metavar=('H', 'W'))
    parser.add_argument('--objects', type=int, nargs=2, default=(3, 8), metavar=('MIN', 'MAX'))
    parser.add_argument('--object-size', type=float, nargs=2, default=(4, 64), metavar=('MIN', 'MAX'))
    parser.add_argument('--num-classes', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--split', default='train')
    parser.add_argument('--force', action='store_true', help='overwrite existing files whose content differs')
    args = parser.parse_args()
    try:
        coco = generate_synthetic_coco(args.out_dir, args.num_images, tuple(args.size), tuple(args.objects),
                                       tuple(args.object_size), args.num_classes, args.seed, args.split,
                                       force=args.force)
    except (FileExistsError, ValueError) as error:
        parser.error(str(error))
    print(f'{args.out_dir}: {len(coco["images"])} images, {len(coco["annotations"])} objects')


if __name__ == '__main__':
    main()
