"""`cnncalc import REF`: a spec of a model that already exists (a torch module, an ONNX file).

REF is `package.module:attribute` (a `torch.nn.Module`, or a factory called with the `--arg`s,
as uvicorn reads its app references; the current directory is importable), a `.onnx` file, or
a saved `torch.export` program (`.pt2`). The spec is checked against the model before it is
written (see `cnncalc.importer`); this module only reads options and dispatches.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import CnnCalcError
from .base import InputOpt, OutputOpt, app, errors_to_exit, parse_input

TORCH_HINT = "pip install 'cnncalc[torch]'"
ONNX_HINT = "pip install 'cnncalc[onnx]'"

ArgOpt = Annotated[Optional[list[str]], typer.Option(
    "--arg", "-a", metavar="KEY=VALUE",
    help="An argument for a factory REF (repeatable); the value is read as YAML "
         "(num_classes=10, pretrained=false).")]
NameOpt = Annotated[Optional[str], typer.Option(
    "--name", "-n", metavar="NAME", help="The spec's name (default: the model's).")]


def _arguments(pairs: list[str] | None) -> dict[str, Any]:
    import yaml

    arguments: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise CnnCalcError(f"--arg {pair!r}: write KEY=VALUE, KEY a Python name")
        try:
            arguments[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            arguments[key] = value
    return arguments


def load_object(ref: str, arguments: dict[str, Any]) -> tuple[Any, str]:
    """The torch module `package.module:attribute` names (called with `arguments` when it is
    a factory), and its name."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise CnnCalcError(f"{ref!r}: write package.module:attribute, a .onnx file or a .pt2 "
                           "file")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `python -m` has it
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CnnCalcError(f"{ref}: cannot import {module_name!r}: {exc}") from None
    except Exception as exc:  # the user's module failed while importing
        raise CnnCalcError(f"{ref}: importing {module_name!r} raised "
                           f"{type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CnnCalcError(f"{ref}: {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    import torch

    if not isinstance(found, torch.nn.Module):
        if not callable(found):
            raise CnnCalcError(f"{ref} is a {type(found).__name__}, not a torch module or a "
                               "factory of one")
        try:
            found = found(**arguments)
        except Exception as exc:
            raise CnnCalcError(f"{ref}(...) raised {type(exc).__name__}: {exc}") from None
        if not isinstance(found, torch.nn.Module):
            raise CnnCalcError(f"{ref}(...) returned a {type(found).__name__}, not a torch "
                               "module")
    elif arguments:
        raise CnnCalcError(f"{ref} is a module, not a factory: it takes no --arg")
    return found, attribute.split(".")[-1]


def spec_text(ref: str, input_shape: tuple[int, ...] | None, arguments: dict[str, Any],
              name: str | None) -> str:
    """The YAML text of the spec of REF."""
    path = Path(ref)
    if ref.endswith(".onnx"):
        if arguments:
            raise CnnCalcError("--arg is for factories; an ONNX file takes none")
        try:
            from .. import onnx as onnx_backend
        except ImportError as exc:
            raise CnnCalcError(f"importing ONNX needs onnx ({exc}); install it with: "
                               f"{ONNX_HINT}") from None
        return onnx_backend.to_spec(path, input_shape, name=name)
    try:
        from .. import torch as torch_backend
    except ImportError as exc:
        raise CnnCalcError(f"importing a torch model needs torch ({exc}); install it with: "
                           f"{TORCH_HINT}") from None
    if ref.endswith(".pt2"):
        if arguments:
            raise CnnCalcError("--arg is for factories; a saved program takes none")
        return torch_backend.program_to_spec(path, input_shape, name=name)
    module, found_name = load_object(ref, arguments)
    return torch_backend.to_spec(module, input_shape or (224, 224, 3),
                                 name=name or found_name.lower())


@app.command("import")
def import_(ref: Annotated[str, typer.Argument(
                metavar="REF", help="package.module:attribute (a torch module or a factory), "
                     "a .onnx file or a saved torch.export program (.pt2).",
                show_default=False)],
            input: InputOpt = None, arg: ArgOpt = None, name: NameOpt = None,
            output: OutputOpt = None) -> None:
    """Write a spec of an existing model, checked against it (shapes, params, buffers)."""
    with errors_to_exit():
        text = spec_text(ref, parse_input(input), _arguments(arg), name)
        if output is None:
            sys.stdout.write(text)
        else:
            from ..writers import write_file

            write_file(output, text)
