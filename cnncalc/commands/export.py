"""`cnncalc export SPEC -o net.onnx`: a spec as an ONNX model (the torch and onnx extras).

The spec is built with `cnncalc.torch.build` in eval mode (torch's default initialisation:
random weights) and exported by torch's TorchScript exporter, opset 17, with a dynamic batch,
so that it opens in Netron and runs in onnxruntime; `cnncalc.onnx.export` says what the
graph holds. The file is written atomically and never onto an input (`writers.write_file`).
This module only reads options and dispatches.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import CnnCalcError
from .base import InputOpt, SpecArg, VarOpt, app, errors_to_exit, load_spec, parse_input

INSTALL_HINT = "pip install 'cnncalc[torch,onnx]'"

ExportOutputOpt = Annotated[Path, typer.Option(
    "--output", "-o", help="The ONNX file to write (never onto an input); - for standard "
    "output.", show_default=False)]
FoldOpt = Annotated[bool, typer.Option(
    "--fold-batchnorm", help="Fold batch norm into the convolutions, as torch's exporter does "
    "for deployment (the graph then has fewer params than the spec).")]


@app.command("export")
def export(spec: SpecArg, output: ExportOutputOpt, input: InputOpt = None,
           var: VarOpt = None, fold_batchnorm: FoldOpt = False) -> None:
    """Write the spec as an ONNX model (opset 17, random weights) that runs in onnxruntime."""
    with errors_to_exit():
        loaded = load_spec(spec, var)
        try:
            from .. import onnx as onnx_backend
            from .. import torch as _torch_backend  # noqa: F401  (a clear error if missing)
        except ImportError as exc:
            raise CnnCalcError(f"export needs torch and onnx ({exc}); install them with: "
                               f"{INSTALL_HINT}") from None
        exported = onnx_backend.export(loaded, parse_input(input),  # type: ignore[arg-type]
                                       fold_batchnorm=fold_batchnorm)
        from ..writers import write_file

        write_file(output, exported.data)
        for note in exported.notes:
            print(f"cnncalc export: {note}", file=sys.stderr)
