"""Export the student of a trained DistillationDetector as a plain mmdet detector (no teacher, no adapters).

    python tools/model_converters/export_student.py DISTILL_CONFIG CHECKPOINT OUT_CHECKPOINT OUT_CONFIG [--force]

Test the result like any mmdet detector: ``python tools/test.py OUT_CONFIG OUT_CHECKPOINT``. What is kept and why:
``ghostdet/models/detectors/student_export.py``.
"""
from ghostdet.cli import converter_parser, run_converter
from ghostdet.models.detectors import export_student


def main() -> None:
    parser = converter_parser(__doc__, out_config_required=True)
    args = parser.parse_args()
    _, dropped = run_converter(parser, export_student, args.config, args.checkpoint, args.out_checkpoint,
                               args.out_config, force=args.force)
    prefixes = sorted({k.split('.')[0] for k in dropped})
    print(f'wrote {args.out_checkpoint} and {args.out_config}' +
          (f'; dropped {len(dropped)} non-student tensors ({", ".join(prefixes)})' if dropped else ''))


if __name__ == '__main__':
    main()
