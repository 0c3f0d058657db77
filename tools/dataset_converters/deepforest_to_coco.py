"""Convert deepforest's NEON tree images into the tiled COCO dataset used by the demo.

    python tools/dataset_converters/deepforest_to_coco.py data/trees [--tile-size 640] [--skip-existing]

See ghostdet/datasets/trees.py for the split, tiling and box-visibility rules.
"""
import argparse

from ghostdet.datasets.trees import build_tree_dataset, tree_dataset_ready


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='output folder, e.g. data/trees')
    parser.add_argument('--tile-size', type=int, default=640)
    parser.add_argument('--train-overlap', type=int, default=160)
    parser.add_argument('--val-overlap', type=int, default=0)
    parser.add_argument('--val-fraction', type=float, default=0.25)
    parser.add_argument('--min-visibility', type=float, default=0.5)
    parser.add_argument('--source-dir', help='folder with the .png/.xml pairs (default: the deepforest package)')
    parser.add_argument('--skip-existing', action='store_true', help='do nothing if the dataset already exists')
    args = parser.parse_args()
    if args.skip_existing and tree_dataset_ready(args.out_dir):
        print(f'{args.out_dir}: tree dataset already prepared')
        return
    stats = build_tree_dataset(args.out_dir, args.tile_size, args.train_overlap, args.val_overlap,
                               args.val_fraction, args.min_visibility, args.source_dir)
    for split, s in stats.items():
        print(f'{split}: {s["images"]} tiles, {s["objects"]} trees ({s["small"]} COCO-small), '
              f'{s["ignored"]} ignore regions')


if __name__ == '__main__':
    main()
