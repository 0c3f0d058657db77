"""Convert deepforest's NEON tree images into the tiled COCO dataset used by the demo.

    python tools/dataset_converters/deepforest_to_coco.py data/trees [--tile-size 640] [--skip-existing] [--force]

Writes train/ and val/ tiles, val_full/ (each image's whole held-out region) and annotations/{train,val,val_full}.json.
Existing files with different content are never replaced without --force. See ghostdet/datasets/trees.py for the
split, tiling and box-visibility rules.
"""
import argparse

from ghostdet.datasets.trees import build_tree_dataset, missing_tree_files


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='output folder, e.g. data/trees')
    parser.add_argument('--tile-size', type=int, default=640)
    parser.add_argument('--train-overlap', type=int, default=160)
    parser.add_argument('--val-overlap', type=int, default=0)
    parser.add_argument('--val-fraction', type=float, default=0.25)
    parser.add_argument('--min-visibility', type=float, default=0.5)
    parser.add_argument('--source-dir', help='folder with the .png/.xml pairs (default: the deepforest package)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='do nothing if every annotation file and every image it names already exists')
    parser.add_argument('--force', action='store_true', help='overwrite existing files whose content differs')
    args = parser.parse_args()
    if args.skip_existing:
        missing = missing_tree_files(args.out_dir)
        if not missing:
            print(f'{args.out_dir}: tree dataset already prepared')
            return
        print(f'{args.out_dir}: {len(missing)} files missing (e.g. {missing[0]}); converting')
    stats = build_tree_dataset(args.out_dir, args.tile_size, args.train_overlap, args.val_overlap,
                               args.val_fraction, args.min_visibility, args.source_dir, force=args.force)
    for split, s in stats.items():
        print(f'{split}: {s["images"]} {"regions" if split == "val_full" else "tiles"}, {s["objects"]} trees '
              f'({s["small"]} COCO-small), {s["ignored"]} ignore regions')


if __name__ == '__main__':
    main()
