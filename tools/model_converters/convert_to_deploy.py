"""Convert a trained detector's ghostdet backbone (any family) to its inference form.

    python tools/model_converters/convert_to_deploy.py CONFIG CHECKPOINT OUT_CHECKPOINT [--out-config OUT_CONFIG]
        [--force]

GhostNetV3's re-parameterised branches are fused and every backbone's BatchNorm is folded into its convs; the
detector's outputs are unchanged (eval mode). The converted checkpoint loads strictly into CONFIG with
``model.backbone.deploy=True``, which ``--out-config`` writes: ``python tools/test.py OUT_CONFIG OUT_CHECKPOINT``.
A checkpoint that does not fit CONFIG is refused and nothing is written.
"""
from ghostdet.cli import converter_parser, run_converter
from ghostdet.models import convert_to_deploy


def main() -> None:
    parser = converter_parser(__doc__, out_config_required=False)
    args = parser.parse_args()
    run_converter(parser, convert_to_deploy, args.config, args.checkpoint, args.out_checkpoint, args.out_config,
                  force=args.force)
    print(f'wrote {args.out_checkpoint}' + (f' and {args.out_config}' if args.out_config else '') +
          '; it loads with model.backbone.deploy=True')


if __name__ == '__main__':
    main()
