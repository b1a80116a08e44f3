"""Mutation testing of the counting rules: run mutmut, then score each target file.

    python tools/mutation.py             # stage, run mutmut (niced, 2 workers), print the scores
    python tools/mutation.py --report    # print the scores of the last run only
    python tools/mutation.py --jobs 4    # more workers on a bigger machine
    python tools/mutation.py --fresh     # forget earlier results (default: killed ones stay)
    python tools/mutation.py --only 'cnncalc.core.engine.*'   # one file's mutants first
    python tools/mutation.py --deselect tests/test_x.py::test_y   # a test failing already
    python tools/mutation.py --sample 400   # a seeded random sample of the mutants not checked
    python tools/mutation.py --recheck      # the survivors again (after new tests)

Slow (see docs/testing.md for the time on a 2-core machine); never run in CI. Needs
`pip install -e '.[mutation]'`.

What it does:
1. Stages a copy of the working tree in `.mutation/` (cnncalc, tests, docs, specs, README,
   pyproject; the same files mutmut would see, untouched by edits made while it runs). In the
   copy, two kinds of code are marked `# pragma: no mutate` (the lines keep their numbers):
   the text of an error message (each `raise SomethingError(...)` statement, rewritten on one
   line) and the functions of NOT_MUTATED (prose about the rules, or tables built at import).
   The target files are the `only_mutate` list of `[tool.mutmut]` in pyproject.toml: that
   list is the one place that names them.
2. Runs `mutmut run` in `.mutation/` (the tests it runs are `pytest_add_cli_args_test_selection`
   of the same section; hypothesis runs under the derandomized `mutation` profile of
   tests/conftest.py). mutmut keeps the results of unchanged functions between runs.
3. Prints per target file: killed / non-equivalent mutants, the equivalent ones (EQUIVALENT
   below, each with its reason) and every other survivor as `file:line  before -> after`.
   Exit status 1 when a file scores under THRESHOLD.

A complete run takes hours on a small machine (docs/testing.md). `--sample N` instead checks a
seeded random sample of the mutants no run has checked yet, stratified by file (each file's
share of them, at least SAMPLE_FLOOR where it has that many), and `--report` then estimates
each file's score: its checked mutants are counted as they are, its unchecked ones are
estimated by the sample's kill rate (with a 95% Wilson interval). The sample is kept in
`.mutation/sample.json`; a later `--sample` draws from what is still unchecked.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / ".mutation"
COPIED = ("cnncalc", "tests", "docs", "specs", "README.md", "pyproject.toml")
THRESHOLD = 0.95
#: `--sample`: the fewest mutants drawn from a file that has that many unchecked
SAMPLE_FLOOR = 30
SAMPLE_FILE = STAGE / "sample.json"
PRAGMA = "  # pragma: no mutate"
PROSE = "prose about the rules (`cnncalc explain`, one-line notes): text, not a rule"
EXPR_TEXT = ("message text only: `text` names the expression in error messages and nowhere "
             "else")
MESSAGE = "message text only: the value is used in an error message and nowhere else"
YAML_LAYOUT = ("the layout of `cnncalc scale -f yaml` (inline or block style); what the YAML "
               "means is tested by loading it again (tests/test_scale.py)")
AT_IMPORT = ("runs once at import (a module-level table), before mutmut switches a mutant on: "
             "its mutants could never be killed; the tests of the table's users check it")

#: Functions (`name`, or `Class.name`, or a method name for every class) not mutated, and why.
NOT_MUTATED: dict[str, dict[str, str]] = {
    "cnncalc/core/layers.py": {
        "explain": PROSE, "explain_merge": PROSE, "describe": PROSE, "_window_lines": PROSE,
        "_size_note": PROSE, "_window_note": PROSE,
        "_kinds": AT_IMPORT,
    },
    "cnncalc/core/units.py": {"_unit_hint": "the hint of an error message (text only)"},
    "cnncalc/analyses/scale.py": {
        "Scaling.describe": PROSE, "_width_fields": AT_IMPORT,
        "to_yaml": YAML_LAYOUT, "_is_entry": YAML_LAYOUT,
    },
}

#: separable's pointwise convolution, and stochastic depth's product of the input and the
#: noise (see EQUIVALENT)
_POINTWISE = 'Op("convolution", New(out_shape), params=True, saves=(OPERAND,)),'
_SD_MUL = ('Op("mul", New(out_shape), reads=(0, -1), '
           'saves=(Save("operand", 1, when=0),)))')

_COPY_OR_WALK = ("whether a block's use is copied from an earlier expansion or walked again: "
                 "the walk gives the same rows (tests/test_reuse.py compares the two), only "
                 "slower")

_TEMPLATE = ("a kept template's own name and depth are never read: `_Walker.copy` names the "
             "copy and shifts every row by the difference of depths")

#: Surviving mutants that cannot change behaviour: (file, function, the changed line before,
#: after (None: any change of that line), why). Lines are compared stripped of indentation.
#: docs/testing.md lists them.
EQUIVALENT: list[tuple[str, str, str, str | None, str]] = [
    ("cnncalc/analyses/memory.py", "alive_per_step",
     "last[steps[-1].writes] = len(steps) - 1  # the output lives to the end",
     "last[steps[-2].writes] = len(steps) - 1  # the output lives to the end",
     "the last step's tensor is born at the last step, so the line only restates it; the "
     "tensor of the step before is always read by the last step (the next layer of a chain, "
     "the merge of its branch, or the activation after a merge), so it lives to the end anyway"),
    ("cnncalc/analyses/memory.py", "alive_per_step",
     "change = [0] * (len(steps) + 1)  # a sweep, linear in the number of steps",
     "change = [0] * (len(steps) + 2)  # a sweep, linear in the number of steps",
     "the sweep reads change[0..len(steps) - 1] only; a longer list adds an unread zero"),
    ("cnncalc/core/layers.py", "Pad.window", "top, _, left, _ = self.padding_of(shape)",
     "top, _, left, _ = self.padding_of(None)",
     "Pad.padding_of ignores the shape (explicit padding only)"),
    ("cnncalc/core/units.py", "_parse",
     'def _parse(text: str | int, units: dict[str, int], what: str, kind: str = "count") -> int:',
     'def _parse(text: str | int, units: dict[str, int], what: str, kind: str = "XXcountXX") '
     '-> int:', "every caller passes `kind`; the default is never used"),
    ("cnncalc/core/units.py", "_parse",
     'def _parse(text: str | int, units: dict[str, int], what: str, kind: str = "count") -> int:',
     'def _parse(text: str | int, units: dict[str, int], what: str, kind: str = "COUNT") -> int:',
     "every caller passes `kind`; the default is never used"),
    ("cnncalc/core/units.py", "parse_count", 'return _parse(text, COUNT_UNITS, what, "count")',
     "return _parse(text, COUNT_UNITS, what, )", "`count` is _parse's default"),
    ("cnncalc/core/units.py", "si",
     'index, text = _scaled(n, 1000, ("", "k", "M", "G", "T"), digits)', None,
     "_scaled reads only the length of the unit names, not their text"),
    ("cnncalc/core/units.py", "si", "return f\"{sign}{text}{('', 'k', 'M', 'G', 'T')[index]}\"",
     "return f\"{sign}{text}{('XXXX', 'k', 'M', 'G', 'T')[index]}\"",
     "index 0 returned two lines earlier; the empty name is never shown"),
    ("cnncalc/analyses/scale.py", "multiplier", 'return f"{x:.4f}".rstrip("0").rstrip(".")',
     'return f"{x:.4f}".rstrip("XX0XX").rstrip(".")',
     "rstrip takes a set of characters: 'X' never occurs in a formatted number"),
    ("cnncalc/analyses/scale.py", "multiplier", 'return f"{x:.4f}".rstrip("0").rstrip(".")',
     'return f"{x:.4f}".rstrip("0").rstrip("XX.XX")',
     "rstrip takes a set of characters: 'X' never occurs in a formatted number"),
    ("cnncalc/core/expr.py", "_closed_at_end", "closed = False", "closed = None",
     "`closed` keeps its first value only when no bracket closes, and is then only tested "
     "for truth: None and False are both false"),
    ("cnncalc/core/expr.py", "_closed_at_end",
     'if token.type == tokenize.OP and token.string in "([{":',
     'if token.type == tokenize.OP and token.string in "XX([{XX":',
     "no operator token contains 'X', so the same tokens match"),
    ("cnncalc/core/expr.py", "_closed_at_end",
     'elif token.type == tokenize.OP and token.string in ")]}":',
     'elif token.type == tokenize.OP and token.string in "XX)]}XX":',
     "no operator token contains 'X', so the same tokens match"),
    ("cnncalc/core/expr.py", "_closed_at_end", "return False", "return True",
     "tokenize fails only on an unclosed bracket or string; the text without its outer "
     "brackets is then unclosed too, and both ways end in the same 'invalid expression'"),
    ("cnncalc/core/units.py", "_parse",
     'whole = "parameters, MACs and FLOPs are counted" if kind == "count" else "bytes are"', None,
     MESSAGE),
    ("cnncalc/core/units.py", "parse_count",
     'def parse_count(text: str | int, what: str = "count") -> int:', None, MESSAGE),
    ("cnncalc/core/units.py", "parse_bytes",
     'def parse_bytes(text: str | int, what: str = "size") -> int:', None, MESSAGE),
    ("cnncalc/core/units.py", "parse_bytes", 'return _parse(text, BYTE_UNITS, what, "bytes")', None,
     "message text only: any kind but 'count' reads the same units and refuses the same "
     "texts; the kind picks the wording of the errors"),
    ("cnncalc/core/units.py", "parse_share",
     'def parse_share(text: str | float, what: str = "share") -> Fraction:', None, MESSAGE),
    ("cnncalc/core/units.py", "parse_share", 'hint = ""', None, MESSAGE),
    ("cnncalc/core/units.py", "parse_share", 'hint = "; a share must be 0% or more"', None,
     MESSAGE),
    ("cnncalc/analyses/scale.py", "validate",
     'for what, value in (("width", scaling.width), ("depth", scaling.depth)):', None, MESSAGE),
    ("cnncalc/analyses/scale.py", "parse_resolution",
     'parts = str(text).lower().replace(" ", "").split("x")',
     'parts = str(text).lower().replace("XX XX", "").split("x")',
     "int() ignores the spaces around each number, so removing them changes nothing"),
    ("cnncalc/core/layers.py", "AdaptivePool.windows_of",
     "for n, t in zip(shape[:2], pair(self.size), strict=True))", None,
     "both sides always have two items (height and width)"),
    ("cnncalc/core/expr.py", "parse", "tree = _CACHE.get(text)", "tree = None",
     "the cache only saves time: a miss parses the text again, to the same tree"),
    ("cnncalc/core/expr.py", "parse", "tree = _CACHE.get(text)", "tree = _CACHE.get(None)",
     "the cache only saves time: a miss parses the text again, to the same tree"),
    ("cnncalc/core/expr.py", "parse", "_CACHE[text] = tree", "_CACHE[text] = None",
     "the cache only saves time: a cached None reads as a miss and the text is parsed again"),
    ("cnncalc/core/expr.py", "parse", "_check(tree, text)", "_check(tree, None)", EXPR_TEXT),
    ("cnncalc/core/expr.py", "_compile",
     "for op, c in zip(node.ops, node.comparators, strict=True)], text)", None,
     "Python's parser gives a comparison as many operators as operands after the first"),
    *[("cnncalc/core/layers.py", "Separable.ops", _POINTWISE, _POINTWISE.replace(was, now),
       "the pointwise convolution reads the depthwise output, which needs a gradient whenever "
       "the layer's weights train (one layer, one trainable flag): its own `params` flag "
       "never decides whether its output needs one")
      for was, now in (("=True", "=None"), ("=True", "=False"), ("params=True, ", ""))],
    *[("cnncalc/core/layers.py", f"{kind}.ops",
       'saves=(OPERAND, Save("extra", 0), Save("extra", 1))),)',
       'saves=(OPERAND, Save("extra", ), Save("extra", 1))),)',
       "a Save's index is 0 when not given: the mutant is the same Save")
      for kind in ("LayerNorm", "BatchNorm")],
    ("cnncalc/core/layers.py", "StochasticDepth.ops",
     'return (Op("empty", noise, reads=()),', 'return (Op("empty", noise, ),',
     "the noise then reads the layer's input too: a read of a tensor the module call holds "
     "to its end anyway, and the noise's layout (like its operand's) is that of a vector, "
     "which memory lays out contiguous whatever it reads"),
    ("cnncalc/analyses/memory.py", "_view_strides", "out = [0] * len(new_shape)", None,
     "every entry is written before the strides are returned (a view that leaves one "
     "unwritten returns None first)"),
    ("cnncalc/core/layers.py", "Separable.cost",
     "params=F.conv_params(fh, fw, c_in, c_mid, c_in, False)",
     "params=F.conv_params(fh, fw, c_in, c_mid, c_in, None)",
     "conv_params reads its bias flag as a truth value: None is False"),
    ("cnncalc/core/units.py", "_scaled", "while index > 0:", "while index >= 0:",
     "at index 0 the callers (si, binary) write the number themselves and read no text"),
    ("cnncalc/analyses/memory.py", "_Pass.view",
     "return self.tensor(source.storage, flat, found)",
     "return self.tensor(source.storage, flat, None)",
     "the strides of a flat vector are never read: a flatten of it is no op, and only views "
     "and channel_dense (which read maps) read strides"),
    ("cnncalc/analyses/memory.py", "_Pass.view",
     'return self.new(New(flat, layout="contiguous"), [source])  # reshape\'s copy',
     'return self.new(New(flat, layout="contiguous"), None)  # reshape\'s copy',
     "a contiguous New reads no operand for its layout"),
    *[("cnncalc/core/units.py", "_parse",
       "if power > 300 and value:  # past MAX_COUNT whatever the (at most 120) digits",
       "if power " + after + " and value:  # past MAX_COUNT whatever the (at most 120) digits",
       "the same refusal: past 10^100 either way, and `_bounded` refuses what the guard "
       "lets through with the same message (the guard only spares computing 10^301)")
      for after in (">= 300", "> 301")],
    ("cnncalc/core/units.py", "_parse",
     "value *= Fraction(10) ** max(power, -300)  # 1e-9999 is a fraction like 1e-300",
     "value *= Fraction(10) ** max(power, -301)  # 1e-9999 is a fraction like 1e-300",
     "any power below -100 leaves a fraction of at most 120 digits: not a whole number "
     "either way"),
    ("cnncalc/core/layers.py", "Pool.ops",
     "if top == bottom and left == right and top <= fh // 2 and left <= fw // 2:",
     "if top == bottom and left == right and top <= fh / 2 and left <= fw // 2:",
     "`top` is a whole number: `top <= f // 2` exactly when `top <= f / 2`"),
    ("cnncalc/core/layers.py", "Concat.combine",
     "if len({len(s) for s in shapes}) != 1 or any(s[:-1] != shapes[0][:-1] for s in shapes):",
     "if len({len(s) for s in shapes}) != 1 or any(s[:-1] != shapes[1][:-1] for s in shapes):",
     "a concat joins two inputs or more, and they must all agree: with the first or the "
     "second is the same test"),
    ("cnncalc/core/layers.py", "Concat.combine",
     "return (*shapes[0][:-1], sum(s[-1] for s in shapes))",
     "return (*shapes[1][:-1], sum(s[-1] for s in shapes))",
     "every input has the same height and width by then (two inputs or more)"),
    ("cnncalc/core/layers.py", "Pool.ops",
     'Op("new_ones", New(fixed=hp * wp), reads=()),  # (flat: laid out contiguous)',
     'Op("new_ones", New(fixed=hp * wp), ),  # (flat: laid out contiguous)',
     "the ones map would then read the window sums, which the division reads later anyway; a "
     "flat tensor's layout reads no operand"),
    ("cnncalc/core/layers.py", "StochasticDepth.ops", _SD_MUL,
     _SD_MUL.replace("reads=(0, -1)", "reads=(0, +1)"),
     "the op's operands are the input and the noise: index -1 and index 1 are both the noise"),
    *[("cnncalc/core/layers.py", "StochasticDepth.ops", _SD_MUL, _SD_MUL.replace(was, now),
       "the noise needs no gradient, so the product needs one exactly when the input does, "
       "and only then is anything kept: keeping the noise when the input needs a gradient is "
       "keeping it always")
      for was, now in (("when=0", "when=None"), (", when=0", ", "))],
    ("cnncalc/core/layers.py", "ChannelDense.ops",
     'return (Op("clone", View("channels_last")),', None,
     "a view's step is named by what torch runs for it (memory's `_Pass.run`): nothing when "
     "the map is laid out channels last already, else a `clone`; the name written here is "
     "read by nothing"),
    ("cnncalc/analyses/memory.py", "_Pass.view",
     'return self.new(New((h, w, c), layout="channels_last"), [source])', None,
     "channel_dense's channels-last copy is read by its Linear's addmm only, whose output's "
     "layout is given: only the copy's bytes are ever read, and every variant has the same"),
    ("cnncalc/core/layers.py", "Pad.output_shape", 'h, w, c = spatial(shape, "pad")', None,
     "message text only: the name is used in the error for a non-image input"),
    ("cnncalc/core/layers.py", "Pad.output_shape",
     "top, bottom, left, right = self.padding_of(shape)",
     "top, bottom, left, right = self.padding_of(None)",
     "Pad.padding_of ignores the shape (explicit padding only)"),
    ("cnncalc/core/layers.py", "Pad.output_shape",
     'if self.mode == "replicate" and (h == 0 or w == 0):', None,
     "unreachable: every size of a shape is at least 1 (the parser and every kind ensure it)"),
    ("cnncalc/core/units.py", "_scaled",
     "while index + 1 < len(units) and n >= base ** (index + 1):",
     "while index + 2 < len(units) and n >= base ** (index + 1):",
     "a value that stops one unit short is at least 1000 of that unit, so the second loop "
     "moves it up to the same unit"),
    ("cnncalc/core/units.py", "_scaled", 'return -1, ""', 'return -1, "XXXX"',
     "with index -1 callers ignore the text (they print an exponent)"),
    ("cnncalc/core/units.py", "_scaled", 'return 0, ""', 'return 0, "XXXX"',
     "with index 0 callers ignore the text (they print the number itself)"),
    ("cnncalc/core/units.py", "binary", 'units = ("B", "KiB", "MiB", "GiB", "TiB")', None,
     "index 0 (bytes) is printed by its own line ({n:,} B); the name 'B' is never read"),
    ("cnncalc/core/engine.py", "_Walker.residual",
     'rows = frozenset(("add", "shortcut", entry.activation, short))', None,
     "the parser refuses a body row named like the residual's own rows (its add, shortcut, "
     "activation or named shortcut: test_mutants.py), and "
     "the names the engine makes (kind + number) never are: a second guard no spec reaches"),
    ("cnncalc/core/engine.py", "_Walker.residual",
     "children, body_out = self.seq(entry.body, shape, frame.inside(path), rows)",
     "children, body_out = self.seq(entry.body, shape, frame.inside(path), )",
     "the same second guard (the reserved names), dropped"),
    ("cnncalc/core/engine.py", "Frame.expanding",
     "return Frame(env, self.parent, self.depth, self.trainable, (*self.stack, block),",
     "return Frame(env, None, self.depth, self.trainable, (*self.stack, block),",
     "a block's body is a list, residual or parallel, and each walks its entries in "
     "`frame.inside(path)`, which sets the parent before anything reads it"),
    ("cnncalc/core/engine.py", "_Walker.expansion_key",
     "self.contained[kind] = self.self_contained(self.spec.blocks[kind].body, set())",
     "self.contained[kind] = None",
     "None reads as 'not self-contained': every use is walked again, slower, to the same rows"),
    ("cnncalc/core/formulas.py", "adaptive_largest",
     "uniform = adaptive_uniform(n_in, n_out)", "uniform = None",
     "the uniform case is a shortcut: every window then has that size, so the largest of "
     "the windows computed one by one is the same"),
    ("cnncalc/analyses/scale.py", "check_reach",
     'depth=2.0 if "depth" in what else 1.0)', 'depth=2.0 if ("depth" in what) or True else 1.0)',
     "scaling the depth only counts repeats (it refuses nothing), and the count of a "
     "multiplier not in `what` is never read"),
    ("cnncalc/analyses/scale.py", "check_reach",
     'depth=2.0 if "depth" in what else 1.0)', 'depth=2.0 if "depth" in what else 2.0)',
     "scaling the depth only counts repeats (it refuses nothing), and the count of a "
     "multiplier not in `what` is never read"),
    ("cnncalc/analyses/scale.py", "check_reach",
     'depth=2.0 if "depth" in what else 1.0)', 'depth=3.0 if "depth" in what else 1.0)',
     "the probe counts the repeats any multiplier other than 1 reaches: 3 reaches the same"),
    ("cnncalc/analyses/scale.py", "check_reach",
     'probe = Scaling(width=2.0 if "width" in what else 1.0,',
     'probe = Scaling(width=3.0 if "width" in what else 1.0,',
     "the probe counts the channel counts any multiplier other than 1 reaches: 3 reaches the "
     "same ones"),
    ("cnncalc/analyses/scale.py", "_parses", "parse_spec(raw, file)", "parse_spec(raw, None)",
     "only whether it parses is used: the file names the file in a message nobody reads"),
    *[(file, func, line, line.replace("strict=True", after),
       "both sequences hold two sizes (a map's height and width, and `pair`'s or the output's "
       "two): `strict` only guards the code against itself")
      for file, func, line in (
          ("cnncalc/core/layers.py", "AdaptivePool.window",
           "for n, t in zip(shape[:2], pair(self.size), strict=True):"),
          ("cnncalc/core/layers.py", "Upsample.window",
           "for n_in, n_out in zip(shape[:2], out[:2], strict=True):"),
          ("cnncalc/core/layers.py", "AdaptivePool.uniform_of",
           "axes = [F.adaptive_uniform(n, t) for n, t in zip(shape[:2], pair(self.size), "
           "strict=True)]"),
          ("cnncalc/core/layers.py", "ConvTranspose._axes",
           "pair(self.dilation), pair(self.output_padding), strict=True))"),
          ("cnncalc/core/layers.py", "ConvTranspose.output_shape",
           'for axis, args in zip(("height", "width"), self._axes(shape), strict=True):'))
      for after in ("strict=None", "strict=False", "")],
    *[("cnncalc/core/expr.py", "_pairs",
       "return list(zip(*(a if isinstance(a, list) else [a] * n for a in args), strict=True))",
       "return list(zip(*(a if isinstance(a, list) else [a] * n for a in args), "
       f"{after}))", "the lists' lengths are checked equal two lines before (a refusal names "
       "them), and the numbers are repeated to that length: `strict` never fires")
      for after in ("strict=False", "")],
    # sample 1 of run 6 (2026-11-28)
    ("cnncalc/core/layers.py", "SqueezeExcite.ops",
     'saves=(Save("operand", 0, when=1), Save("operand", 1, when=0))))',
     'saves=(Save("operand", when=1), Save("operand", 1, when=0))))',
     "0 is a Save's default index"),
    ("cnncalc/core/layers.py", "SqueezeExcite.ops",
     'Op("convolution", New((1, 1, c)), params=True, saves=(OPERAND,)),',
     'Op("convolution", New((1, 1, c)), params=False, saves=(OPERAND,)),',
     "the second convolution reads the first's output through the activation, which needs a "
     "gradient whenever the row's parameters train (the first convolution's `params`): its "
     "own flag never changes whether it records, and its save does not depend on it"),
    ("cnncalc/core/engine.py", "_Walker.merge",
     "merge = _MERGE_OF.get(kind) or _MERGE_OF.setdefault(kind, MERGES[kind]())",
     "merge = _MERGE_OF.get(None) or _MERGE_OF.setdefault(kind, MERGES[kind]())",
     "a cache: setdefault returns the merge already made for `kind`, so the lookup before it "
     "only saves a call"),
    ("cnncalc/core/engine.py", "_Walker.planned", "if expr.steps_left() < done.steps:",
     "if expr.steps_left() <= done.steps:",
     "with exactly the block's steps left, the copy would spend them all and the walk does: "
     "both go on with none left, and the walk gives the same rows (tests/test_engine_plan.py "
     "compares the outcomes at every budget)"),
    ("cnncalc/core/engine.py", "_Walker.keep",
     "_copy_node(node, node.name, node.path, node.path, len(node.path), 0),",
     "_copy_node(node, None, node.path, node.path, len(node.path), 0),", _TEMPLATE),
    ("cnncalc/core/engine.py", "_Walker.keep",
     "_copy_node(node, node.name, node.path, node.path, len(node.path), 0),",
     "_copy_node(node, node.name, node.path, node.path, len(node.path), 1),", _TEMPLATE),
    ("cnncalc/core/engine.py", "_fits", "return depth + done.span + 2 <= MAX_DEPTH",
     "return depth + done.span + 3 <= MAX_DEPTH",
     "whether a block's second use at the nesting limit is copied or walked again: the walk "
     "gives the same rows (the copy's condition already keeps it within MAX_DEPTH)"),
    ("cnncalc/core/engine.py", "_fits", "return depth + done.span + 2 <= MAX_DEPTH",
     "return depth + done.span + 2 < MAX_DEPTH",
     "whether a block's second use at the nesting limit is copied or walked again: the walk "
     "gives the same rows (the copy's condition already keeps it within MAX_DEPTH)"),
    ("cnncalc/analyses/memory.py", "_is_channels_last", "return False", "return True",
     "only maps reach it: a layout is asked for 3-D outputs only, and no op makes a map from "
     "a vector operand (the kinds that need a map refuse a vector by name)"),
    ("cnncalc/analyses/memory.py", "_Pass.view",
     'return self.new(New(flat, layout="contiguous"), [source])  # reshape\'s copy',
     "return self.new(New(flat, layout=None), [source])  # reshape's copy",
     "a flat tensor is contiguous whatever its layout says (`_Pass.layout` of 1-D dims)"),
    ("cnncalc/analyses/scale.py", "scale_raw",
     "if nothing and _parses(raw, file):  # a malformed spec: parse_spec names what is wrong",
     "if nothing and _parses(raw, None):  # a malformed spec: parse_spec names what is wrong",
     "_parses only says whether the spec parses: the file would name it in a message it "
     "catches"),
    ("cnncalc/core/engine.py", "_Scope.__init__", "self._input: Node | None = None",
     'self._input: Node | None = ""', "`start` sets it to None before anything reads it: "
     "every scope is started by the list that uses it (the top one by `analyze`'s walk)"),
    ("cnncalc/core/engine.py", "_Walker.__init__",
     "self.training_only = False  # whether an entry is training-only (its rows are)",
     "self.training_only = None  # whether an entry is training-only (its rows are)",
     "only read as true or false"),
    ("cnncalc/core/layers.py", "list_form", 'return "value"', None,
     "its callers test for 'refused' and 'fields' only: any other answer is the value form"),
    ("cnncalc/core/engine.py", "_Walker.entry",
     "inner = frame.inside(path, env=dict(frame.env, i=index))",
     "inner = frame.inside(None, env=dict(frame.env, i=index))",
     "a pass's frame parent is read by no one: only `seq` reads a frame's parent, and every "
     "entry a repeat holds walks its own rows in `frame.inside(its own path)`"),
    ("cnncalc/analyses/memory.py", "_Pass.written", "parts: list[_Tensor] = []",
     "parts: list[_Tensor] = None", "read only as `parts[...] if parts else tensor`: an "
     "empty list and None are both false there"),
    ("cnncalc/analyses/memory.py", "_Pass.new",
     "dims = _dims(spec.shape) if spec.shape else (spec.fixed,)",
     "dims = _dims(spec.shape) if (spec.shape) or True else (spec.fixed,)",
     "the dims of a tensor of fixed size (a pool's counts map, batch norm's statistics) are "
     "read by nothing that could tell () from (fixed,): no view takes one, and the layout "
     "test reads 3-D maps only"),
    ("cnncalc/analyses/memory.py", "_Pass.run",
     "extras = [self.new(spec, operands) for spec in op.extra]",
     "extras = [self.new(spec, None) for spec in op.extra]",
     "an extra tensor (max pool's indices, dropout's mask, batch norm's statistics) is saved "
     "or freed, never viewed nor read by a later layout test, so its strides change nothing; "
     "none of them is laid out as `cat`, the one layout that iterates its operands"),
    ("cnncalc/analyses/memory.py", "_Pass.network",
     "self.storages.append(_Storage(Size(prod(dims) * self.element), 0, 0))",
     "self.storages.append(_Storage(Size(prod(dims) * self.element), 0, 1))",
     "the input's last step is set to the network's last step by the caller's hold, and "
     "every network has a row and every row a step, so the last step is at least 1"),
    # the third sample (run 7)
    ("cnncalc/core/engine.py", "analyze_at", "inference=False)", "inference=None)",
     "only read as true or false (`if inference and ...`)"),
    ("cnncalc/core/engine.py", "_Walker.__init__",
     "self.training_only = False  # whether an entry is training-only (its rows are)",
     "self.training_only = True  # whether an entry is training-only (its rows are)",
     "the flag only spares summing the training-only rows: with none, the sum is the "
     "report's default, all zeros"),
    ("cnncalc/core/engine.py", "_Scope.__init__", "self.later: set[str] = set()",
     "self.later: set[str] = None", "`seq` sets every scope's `later` before the scope's "
     "first entry is walked, so before any `from:` reads it"),
    ("cnncalc/core/engine.py", "_Walker.seq",
     "path = None  # known once the entry has its name; the error label uses it",
     'path = ""  # known once the entry has its name; the error label uses it',
     "only read as true or false (the label names the path when there is one)"),
    ("cnncalc/core/engine.py", "_Walker.seq", "inputs: list[Shape] | None = None",
     'inputs: list[Shape] | None = ""', "read only by a join, which always has from: (the "
     "parser makes a join only with from: [a, b, ...]), so it is always set for one"),
    ("cnncalc/core/engine.py", "_Walker.merge",
     "for n, s in zip(names, shapes, strict=True))", "for n, s in zip(names, shapes, ))",
     "the names and shapes of a merge's inputs are made together, one per input: they are "
     "always as long"),
    ("cnncalc/core/engine.py", "_Walker.use",
     "max(n.depth for n in node.walk()) - node.depth,",
     "max(n.depth for n in node.walk()) + node.depth,", _COPY_OR_WALK),
    ("cnncalc/core/engine.py", "_Walker.self_contained",
     "block = self.spec.blocks.get(entry.kind)", "block = None", _COPY_OR_WALK),
    ("cnncalc/core/layers.py", "Pool.output_shape",
     "if max(pads[0:2]) > fh // 2 or max(pads[2:4]) > fw // 2:",
     "if max(pads[0:2]) > fh // 2 or max(pads[2:4]) > fw / 2:",
     "paddings are whole numbers: p > f // 2 exactly when p > f / 2"),
    ("cnncalc/core/layers.py", "Pool.output_shape",
     "if max(pads[0:2]) > fh // 2 or max(pads[2:4]) > fw // 2:",
     "if max(pads[0:2]) > fh / 2 or max(pads[2:4]) > fw // 2:",
     "paddings are whole numbers: p > f // 2 exactly when p > f / 2"),
    ("cnncalc/core/layers.py", "Dense.ops",
     'return (Op("addmm" if self.bias else "mm", New(out_shape, layout="contiguous"),',
     'return (Op("addmm" if self.bias else "mm", New(out_shape, ),',
     "a dense layer's output is a vector, and a flat tensor is contiguous whatever its "
     "layout says (`_Pass.layout` of 1-D dims)"),
    ("cnncalc/core/layers.py", "SqueezeExcite.ops",
     'return (Op("mean", New((1, 1, c), layout="contiguous")),',
     'return (Op("mean", New((1, 1, c), )),',
     "the 1x1 tensors inside a squeeze-excite are read only by its own convolutions, "
     "activations and the final multiply (laid out as the input map): none is a view, so "
     "their strides change no byte"),
    ("cnncalc/core/layers.py", "SqueezeExcite.ops",
     'Op("convolution", New((1, 1, c)), params=True, saves=(OPERAND,)),',
     'Op("convolution", New((1, 1, c)), saves=(OPERAND,)),',
     "the second convolution reads the first's output, which needs a gradient whenever the "
     "second's weights do (one trainable flag for the whole squeeze-excite): its result needs "
     "one either way"),
    ("cnncalc/analyses/memory.py", "_Pass.check_overwrites",
     "for when, tensor in self.reads.get(target.storage, ()):",
     "for when, tensor in self.reads.get(target.storage, ):",
     "an overwritten tensor was read by the in-place op itself, so its storage is always in "
     "`reads`"),
    ("cnncalc/analyses/memory.py", "Forward.peak", "best, at = -1, None",
     "best, at = -2, None", "every step holds 0 bytes or more, so the first step beats either "
     "start"),
    # the fourth sample
    ("cnncalc/core/layers.py", "Pool.ops",
     "if top == bottom and left == right and top <= fh // 2 and left <= fw // 2:",
     "if top == bottom and left == right and top <= fh // 2 and left <= fw / 2:",
     "paddings are whole numbers: p <= f // 2 exactly when p <= f / 2"),
    ("cnncalc/core/layers.py", "Pool.ops",
     'Op("div", New(out_shape), reads=(2, -1), saves=(Save("operand", 1, when=0),)))',
     'Op("div", New(out_shape), reads=(2, -1), saves=(Save("operand", 1, when=None),)))',
     "the division's result needs a gradient only when the pooled sum (operand 0) does: the "
     "counts never do, so `when=0` and always are the same condition"),
    ("cnncalc/core/engine.py", "Frame.of", "return Frame(self.env, self.parent, self.depth,",
     "return Frame(self.env, None, self.depth,",
     "an entry's own frame is never a list's: only `seq` reads a frame's parent, and it reads "
     "the list's frame, never the one `of` makes for an entry"),
    ("cnncalc/core/engine.py", "_Walker.seq", "sources: list[Node] = []",
     "sources: list[Node] = None", "only read as true or false before `from:` sets it (an "
     "empty list and None are both false there)"),
    ("cnncalc/core/engine.py", "_Walker.seq",
     ").located(file=self.spec.file, line=last.line, layer=f\"'{_clip_path(last.path)}'\")",
     ").located(file=None, line=last.line, layer=f\"'{_clip_path(last.path)}'\")",
     "the refusal is raised inside a block, whose list's handler locates it with the same file "
     "(`located` fills only what is missing)"),
    ("cnncalc/core/engine.py", "_Walker.leaf", "layer = entry.model", "layer = None",
     "the entry's model is its fields validated once by the parser: without it the walk "
     "validates the same fields again, to the same layer"),
    ("cnncalc/core/engine.py", "_Walker.merge",
     "for n, s in zip(names, shapes, strict=True))", "for n, s in zip(names, shapes, strict=None))",
     "the names and shapes of a merge's inputs are made together, one per input: they are "
     "always as long"),
    ("cnncalc/core/engine.py", "_Walker.self_contained",
     "return False  # walked each time: the walk refuses it",
     "return True  # walked each time: the walk refuses it",
     "a block that uses itself: walked or copied, its first walk refuses it (\"uses "
     "itself\"), and no block is unknown (the parser refuses one)"),
    ("cnncalc/analyses/memory.py", "_is_channels_last", "low = 0", "low = 1",
     "the first stride it is compared with is the channels', at least 1 for every tensor "
     "memory lays out (a 0 is refused just before)"),
    ("cnncalc/analyses/memory.py", "_Pass.run",
     "self.keep(self.new(New(shape=(prod(source.dims),)), []), node)",
     "self.keep(self.new(New(shape=(prod(source.dims),)), None), node)",
     "autograd's copy is flat: a 1-D tensor's layout is contiguous without reading its "
     "operands"),
    ("cnncalc/core/expr.py", "_compile",
     'raise CnnCalcError(f"{text!r}: unsupported expression")  # pragma: no cover', None,
     "unreachable: `_check` refuses every node `_compile` does not handle, before it runs"),
    ("cnncalc/core/expr.py", "_pairs",
     "return list(zip(*(a if isinstance(a, list) else [a] * n for a in args), strict=True))",
     "return list(zip(*(a if isinstance(a, list) else [a] * n for a in args), strict=None))",
     "the lists are checked to be of one length just before, and the numbers repeated to it"),
    ("cnncalc/analyses/memory.py", "_is_channels_last", "if strides[1] == 0:",
     "if strides[2] == 0:", "torch's guard for a channel stride of 0 (an expanded tensor): "
     "no tensor cnncalc lays out has a zero stride, so neither guard ever fires"),
    *[("cnncalc/analyses/scale.py", func, line, line.replace("+= 1", after),
       "the counts of sites are only read as zero or not")
      for func, line in (
          ("_Rewriter.repeat_of", "self.depth_sites += 1  # (2.0 is no repeat count: "
                                  "parse_spec refuses it as written)"),
          ("_Rewriter.repeat_of", "self.depth_sites += 1"),
          ("_Rewriter.width_of", "self.width_sites += 1"))
      for after in ("+= 2", "= 1")],
    # sample 2 of run 6
    ("cnncalc/analyses/scale.py", "_classifier",
     "if not isinstance(items, list) or len(stack) > 100:",
     "if not isinstance(items, list) or len(stack) > 101:",
     "a spec that nests 101 blocks is refused by the engine (MAX_DEPTH) whatever is scaled"),
    ("cnncalc/analyses/scale.py", "_classifier", "continue", "break",
     "an entry that is neither text nor a mapping is refused by the parser: a spec holding "
     "one is never analysed, whichever dense was kept"),
    ("cnncalc/core/layers.py", "Dense.ops",
     'return (Op("addmm" if self.bias else "mm", New(out_shape, layout="contiguous"),',
     'return (Op("addmm" if self.bias else "mm", New(out_shape, layout="CONTIGUOUS"),',
     "a vector is contiguous whatever its layout says (`_Pass.layout` of 1-D dims)"),
    ("cnncalc/core/layers.py", "SqueezeExcite.ops",
     'saves=(Save("operand", 0, when=1), Save("operand", 1, when=0))))',
     'saves=(Save("operand", 0, ), Save("operand", 1, when=0))))',
     "the gate is computed from the input and the row's own weights: whenever the product "
     "records, the gate needs a gradient, so `when=1` always holds"),
]

KILLED = {"killed", "timeout", "caught by type check", "segfault"}


# --------------------------------------------------------------------------- configuration

def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def targets() -> list[str]:
    return list(config()["only_mutate"])


# --------------------------------------------------------------------------- staging

def _raises(tree: ast.AST) -> list[ast.Raise]:
    """`raise SomethingError(message, ...)` statements: the message is text, not a rule."""
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
            and isinstance(node.exc.func, ast.Name) and node.exc.func.id.endswith("Error")]


def _headers(tree: ast.Module, names: dict[str, str]) -> list[ast.FunctionDef]:
    """The functions that NOT_MUTATED names."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            found.append(node)
        if isinstance(node, ast.ClassDef):
            found += [f for f in node.body if isinstance(f, ast.FunctionDef)
                      and (f.name in names or f"{node.name}.{f.name}" in names)]
    return found


def annotate(path: str, source: str) -> str:
    """`source` marked for mutmut, every line keeping its number.

    A `raise SomethingError(...)` statement is written on one line (ast.unparse, blank lines
    after it) ending in `# pragma: no mutate`: mutmut reads that pragma for the statement's
    first line only. A function of NOT_MUTATED gets `# pragma: no mutate block` after the
    colon of its header.
    """
    tree = ast.parse(source)
    lines = source.split("\n")
    for node in _raises(tree):
        first = lines[node.lineno - 1]
        indent = first[:node.col_offset]
        if indent.strip() or lines[node.end_lineno - 1][node.end_col_offset:].strip():
            continue  # shares a line with other code: leave it
        count = node.end_lineno - node.lineno + 1
        lines[node.lineno - 1:node.end_lineno] = (
            [indent + ast.unparse(node) + PRAGMA] + [""] * (count - 1))
    for func in _headers(tree, NOT_MUTATED.get(path, {})):
        body = func.body[0].lineno
        for number in range(body - 1, func.lineno - 1, -1):
            code = lines[number - 1].rstrip()
            if code.endswith(":") and "#" not in code:
                lines[number - 1] = code + PRAGMA + " block"
                break
    return "\n".join(lines)


def _sync(source: Path, target: Path, skip: set[Path]) -> None:
    """Make `target` a copy of the folder `source` (times kept), except the paths in `skip`."""
    wanted = set()
    for file in source.rglob("*"):
        if "__pycache__" in file.parts or not file.is_file():
            continue
        relative = file.relative_to(source)
        wanted.add(relative)
        copy = target / relative
        if file in skip:
            continue
        stat = file.stat()
        if copy.exists() and (copy.stat().st_mtime_ns, copy.stat().st_size) == (
                stat.st_mtime_ns, stat.st_size):
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, copy)
    for file in list(target.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts and \
                file.relative_to(target) not in wanted:
            file.unlink()


def stage(deselect: list[str]) -> None:
    """Copy the tree to STAGE; annotated target files are rewritten only when they change
    (mutmut regenerates the mutants of a file whose time is newer than its mutants')."""
    STAGE.mkdir(exist_ok=True)
    skip = {ROOT / t for t in targets()}
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            _sync(source, STAGE / name, skip)
        else:
            shutil.copy2(source, STAGE / name)
    if deselect:  # tests failing for reasons of their own must not stop mutmut's first run
        staged = STAGE / "pyproject.toml"
        extra = "".join(f'"--deselect", "{d}", ' for d in deselect)
        staged.write_text(staged.read_text().replace(
            "pytest_add_cli_args = [", "pytest_add_cli_args = [" + extra, 1))
    for path in targets():
        text = annotate(path, (ROOT / path).read_text())
        staged = STAGE / path
        if not staged.exists() or staged.read_text() != text:
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(text)


def forget(everything: bool, keep_survivors: bool = False) -> None:
    """Make mutmut test again what the current tests may decide differently: its map of which
    test calls which function is built afresh (functions move and get renamed), and every
    mutant that was not killed is tested again (a new test may kill it). Killed mutants of
    unchanged functions keep their result; `everything` drops all results. `keep_survivors`
    (a sample's run) keeps the survivors' results too, so that the sample is drawn from mutants
    no run has checked (a survivor then counts as one, which can only lower the score)."""
    if everything:
        shutil.rmtree(STAGE / "mutants", ignore_errors=True)
        return
    (STAGE / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    if keep_survivors:
        return
    from mutmut.stats import status_by_exit_code

    for path in targets():
        meta = STAGE / "mutants" / (path + ".meta")
        if meta.exists():
            data = json.loads(meta.read_text())
            codes = data["exit_code_by_key"]
            for key, code in codes.items():
                if status_by_exit_code[code] not in KILLED:
                    codes[key] = None
            meta.write_text(json.dumps(data, indent=4))


def run_mutmut(jobs: int, only: list[str]) -> int:
    command = ["nice", "-n", "19", sys.executable, "-m", "mutmut", "run", "--max-children",
               str(jobs), *only]
    return subprocess.run(command, cwd=STAGE).returncode


def _codes(path: str) -> dict[str, int | None]:
    meta = STAGE / "mutants" / (path + ".meta")
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def _reset(names: set[str]) -> None:
    """Forget the results of `names` (mutmut then checks them again)."""
    for path in targets():
        meta = STAGE / "mutants" / (path + ".meta")
        if meta.exists():
            data = json.loads(meta.read_text())
            codes = data["exit_code_by_key"]
            for key in names & codes.keys():
                codes[key] = None
            meta.write_text(json.dumps(data, indent=4))


def draw(size: int, seed: int) -> list[str]:
    """A random sample (seeded) of `size` mutants that no run has checked, stratified by
    file; recorded in SAMPLE_FILE (added to an earlier sample's mutants)."""
    pools = {path: sorted(k for k, code in _codes(path).items() if code is None)
             for path in targets()}
    total = sum(len(p) for p in pools.values())
    rng = random.Random(seed)
    chosen: dict[str, list[str]] = {}
    for path, pool in pools.items():
        share = round(size * len(pool) / total) if total else 0
        chosen[path] = rng.sample(pool, min(len(pool), max(share, SAMPLE_FLOOR)))
    earlier = json.loads(SAMPLE_FILE.read_text()) if SAMPLE_FILE.exists() else {"draws": []}
    earlier["draws"].append({"seed": seed, "unchecked": {p: len(v) for p, v in pools.items()},
                             "mutants": chosen})
    SAMPLE_FILE.write_text(json.dumps(earlier, indent=1))
    return [name for names in chosen.values() for name in names]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def sample_report() -> None:
    """Each file's score estimated from the census of its checked mutants and the latest
    sample of its unchecked ones (that draw's pool sizes: the population it stands for)."""
    if not SAMPLE_FILE.exists():
        return
    # the latest draw stands for what was unchecked when it was drawn; every mutant checked
    # besides it (earlier draws' included) is the census
    draws = json.loads(SAMPLE_FILE.read_text())["draws"][-1:]
    print("\nSampled estimate (docs/testing.md): checked mutants as counted, the unchecked ones "
          "by the sample's kill rate")
    print(f"{'file':<28} {'sample: killed / non-eq.':>25} {'eq.':>4} {'waiting':>8} "
          f"{'census: killed / non-eq.':>25} {'estimate':>9}  95% interval")
    for path in targets():
        mutants = {m.name: m for m in mutants_of(path)}
        pool = draws[0]["unchecked"].get(path, 0)
        names = [n for d in draws for n in d["mutants"].get(path, [])]
        drawn = [mutants[n] for n in names if n in mutants]
        done = [m for m in drawn if m.status != "not checked"]
        eq = sum(1 for m in done if m.status not in KILLED and m.reason)
        killed = sum(1 for m in done if m.status in KILLED)
        scored = len(done) - eq
        census = [m for m in mutants.values() if m.name not in set(names)
                  and m.status != "not checked"]
        c_eq = sum(1 for m in census if m.status not in KILLED and m.reason)
        c_killed = sum(1 for m in census if m.status in KILLED)
        c_scored = len(census) - c_eq
        # the unchecked stratum: `pool` mutants, of which the sample's share are
        # non-equivalent and the sample's kill rate killed
        share = scored / len(done) if done else 1.0
        low, high = wilson(killed, scored)
        rate = killed / scored if scored else 1.0
        n_rest = (pool - len(drawn)) * share
        whole = c_scored + scored + n_rest
        mid, lower, upper = ((c_killed + killed + r * n_rest) / whole if whole else 1.0
                             for r in (rate, low, high))
        print(f"{path:<28} {killed:>12} / {scored:<11} {eq:>4} {len(drawn) - len(done):>8} "
              f"{c_killed:>12} / {c_scored:<11} {100 * mid:>8.1f}%  "
              f"{100 * lower:.1f}% to {100 * upper:.1f}%")


# --------------------------------------------------------------------------- the report

@dataclass
class Mutant:
    name: str
    status: str
    line: int
    function: str
    before: str
    after: str
    reason: str | None = None  # why it is equivalent


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            out[node.name] = node
    return out


def _original(tree: ast.Module, mangled: str) -> tuple[str, ast.FunctionDef | None]:
    """The function of the original source that mutmut's `xǁClassǁname` stands for."""
    if mangled.startswith("xǁ"):  # xǁClassǁmethod
        cls, name = mangled.split("ǁ")[1:3]
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == cls:
                for f in node.body:
                    if isinstance(f, ast.FunctionDef) and f.name == name:
                        return f"{cls}.{name}", f
        return f"{cls}.{name}", None
    name = mangled[2:]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return name, node
    return name, None


def mutants_of(path: str) -> list[Mutant]:
    meta = STAGE / "mutants" / (path + ".meta")
    if not meta.exists():
        return []
    from mutmut.stats import status_by_exit_code

    codes = json.loads(meta.read_text())["exit_code_by_key"]
    mutated = (STAGE / "mutants" / path).read_text()
    defs = _functions(ast.parse(mutated))
    rows = mutated.split("\n")
    original = ast.parse((ROOT / path).read_text())
    result = []
    for key, code in codes.items():
        status = status_by_exit_code[code]
        local = key.rsplit(".", 1)[-1]  # x_name__mutmut_3 or xǁClassǁname__mutmut_3
        mangled = local.rsplit("__mutmut_", 1)[0]
        function, node = _original(original, mangled)
        line, before, after = 0, "", ""
        orig_def, mut_def = defs.get(mangled + "__mutmut_orig"), defs.get(local)
        if orig_def is not None and mut_def is not None:
            plain = function.split(".")[-1]
            a = rows[orig_def.lineno - 1:orig_def.end_lineno]
            b = rows[mut_def.lineno - 1:mut_def.end_lineno]
            a[0] = a[0].replace(orig_def.name, plain, 1)
            b[0] = b[0].replace(mut_def.name, plain, 1)
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
                if tag != "equal":
                    before = " ".join(x.strip() for x in a[i1:i2])
                    after = " ".join(x.strip() for x in b[j1:j2])
                    line = (node.lineno if node is not None else 0) + i1
                    break
        skipped = NOT_MUTATED.get(path, {})
        if function in skipped or function.split(".")[-1] in skipped:
            continue  # results of a run made before the function was marked
        mutant = Mutant(key, status, line, function, before, after)
        if path == "cnncalc/core/expr.py" and after and "_made(" not in before \
                and "_charge(" not in before and after in (
                    before.replace("text)", "None)"), before.replace("text=text", "text=None")):
            # the compiled functions keep `text` for their messages (not `_made` and
            # `_charge`: past the budget, the refusal slices the text)
            mutant.reason = EXPR_TEXT
        for file, func, was, now, reason in EQUIVALENT:
            if (file, func, was) == (path, function, before) and now in (None, after):
                mutant.reason = reason
        result.append(mutant)
    return result


def report() -> bool:
    """Print the survivors and the score table; False when a file is under THRESHOLD or
    has mutants not checked yet."""
    ok = True
    rows = []
    for path in targets():
        mutants = mutants_of(path)
        if not mutants:
            print(f"{path}: no results (run without --report first)")
            ok = False
            continue
        waiting = [m for m in mutants if m.status == "not checked"]
        checked = [m for m in mutants if m.status != "not checked"]
        killed = [m for m in checked if m.status in KILLED]
        timeouts = [m for m in killed if m.status == "timeout"]
        equivalent = [m for m in checked if m.status not in KILLED and m.reason]
        alive = [m for m in checked if m.status not in KILLED and not m.reason]
        scored = len(checked) - len(equivalent)
        score = len(killed) / scored if scored else 1.0
        ok &= score >= THRESHOLD and not waiting
        rows.append((path, len(killed), scored, len(equivalent), len(timeouts), len(waiting),
                     score))
        for m in sorted(alive, key=lambda m: m.line):
            print(f"{path}:{m.line}  [{m.status}] {m.function}: {m.before}  ->  {m.after}"
                  f"    ({m.name})")
    print()
    print(f"{'file':<22} {'killed / non-equivalent':>24} {'equivalent':>11} {'timeouts':>9} "
          f"{'not checked':>12}  score")
    for path, k, n, e, to, w, s in rows:
        print(f"{path:<22} {k:>11} / {n:<10} {e:>11} {to:>9} {w:>12}  {100 * s:.1f}%")
    print("(timeouts count as killed: the mutant never finished; not-checked mutants are left "
          "out of the score)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="only print the last run's scores")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut workers (default 2)")
    parser.add_argument("--fresh", action="store_true",
                        help="forget every earlier result (default: keep the killed ones)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="check only the mutants whose names match (mutmut's names, "
                             "fnmatch: 'cnncalc.core.engine.*'); repeatable")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="check a random sample of about N unchecked mutants instead")
    parser.add_argument("--seed", type=int, default=21, help="the sample's seed (default 21)")
    parser.add_argument("--recheck", action="store_true",
                        help="check again only the survivors not listed as equivalent")
    parser.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                        help="leave out a test that fails on the unmutated code (repeatable)")
    args = parser.parse_args()
    if not args.report:
        stage(args.deselect)
        os.chdir(STAGE)  # mutmut reads the staged pyproject
        # the survivors not listed as equivalent (the equivalent ones stay as they are)
        survivors = [m.name for path in targets() for m in mutants_of(path)
                     if m.status not in KILLED | {"not checked"} and not m.reason]
        forget(args.fresh, keep_survivors=args.sample is not None or args.recheck)
        if args.recheck:
            _reset(set(survivors))
        only = args.only + (draw(args.sample, args.seed) if args.sample else [])
        if args.recheck:
            only += survivors
            if not only:
                print("no survivors to check again")
                return 0 if report() else 1
        code = run_mutmut(args.jobs, only)
        if code:
            print(f"mutmut exited with {code}", file=sys.stderr)
            return code
    os.chdir(STAGE)  # mutmut.stats reads the staged pyproject
    ok = report()
    sample_report()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
