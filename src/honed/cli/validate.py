"""``honed validate SPEC [KEY=VALUE ...]``: everything short of training."""

from __future__ import annotations

import argparse

from rich.table import Table

from honed.cli.common import add_spec_arguments, console, load_template


def add_parser(commands) -> None:
    parser = commands.add_parser("validate", help="check a spec, its data and its model",
                                 description="Check the spec (every error at once), read its "
                                 "data and build its model; write nothing.")
    add_spec_arguments(parser)
    parser.add_argument("--no-data", action="store_true",
                        help="check the spec only, without reading data or building the model")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    template = load_template(args)
    spec = template.default
    detail = ""
    if not args.no_data:
        from honed.models import count_parameters
        from honed.train.session import preflight

        data, model = preflight(spec, base_dir=template.base_dir)
        detail = (f"; data {data.source}: {data.task}, {data.kind} {list(data.input_shape)}, "
                  f"{len(data.train)}/{len(data.val)}/{len(data.test)} rows; model "
                  f"{spec.model.family} with {count_parameters(model):,} parameters")
        if data.kind == "text":  # long texts are cut: say how many, so max_length is a choice
            text = data.preprocess["text"]
            detail += (f"; {text['tokenizer']['kind']} tokenizer, {text['vocab_size']:,} "
                       f"tokens, {text['train_truncated']} of {text['train_texts']} training "
                       f"texts cut at {text['max_length']} tokens")
            tabular = data.preprocess.get("tabular")
            if tabular:  # [ids | features]: name what sits beside the text
                detail += (f"; beside the text {len(tabular['feature_names'])} table "
                           f"features from {', '.join(c['name'] for c in tabular['columns'])}")
    console.print(f"[green]ok[/]: {args.spec}{detail}")
    dims = template.dimensions
    if dims:
        table = Table(title=f"{len(dims)} search dimension(s)")
        for column in ("name", "kind", "range / choices", "default point"):
            table.add_column(column)
        for dim in dims:
            span = (", ".join(map(str, dim.choices)) if dim.kind == "choice"
                    else f"[{dim.low}, {dim.high}]" + (" log" if dim.log else ""))
            table.add_row(dim.name, dim.kind, span, repr(dim.default_value()))
        console.print(table)
    return 0
