"""A layer's forward pass as the tensor operations torch runs for it: what each op allocates,
views or overwrites, and what its backward pass keeps (`Layer.ops`, `Merge.merge_ops`).

A kind states its ops once, in `core/layers.py`, beside its other rules; `analyses.memory`
runs them over a network to find the bytes alive at each moment of an eval forward pass and
the bytes autograd saves in a training step. The vocabulary:

- `New`: an op allocates a tensor: a shape per example (HWC or a vector) and/or a number of
  elements whatever the batch (`fixed`: batch-norm statistics, a batch-wide noise value), of
  the activations' dtype or of its own (`int64` indices, a `bool` mask), laid out as torch lays
  it out (`like` its first operand's memory format, `channels_last`, `contiguous`, or `cat`:
  channels-last when every operand is).
- `View`: the result shares its first operand's storage (a channel range, a crop, a flatten
  that torch can do as a view; a flatten that cannot is a copy, decided from the strides; a
  map already laid out channels last, where any other is copied to channels last).
- `INPLACE`: the result overwrites the first operand.
- `Save`: what the backward keeps: an operand, the result, an extra output (indices, a mask,
  statistics), or a `copy` autograd makes of an operand before an in-place op overwrites it.
  An op is recorded only when its result requires a gradient (an operand does, or its
  parameters train); then each Save is kept always (`when` None), only when the op's
  parameters train (`"params"`), or only when operand `when` requires a gradient.

Operands (`reads`) index the layer's values: its inputs first (one for a layer, one per path
for a merge), then each op's result in order; a negative index counts back from the latest
(`-1`, the default: the value just made). An empty tuple of ops is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int, ...]

#: Bytes per element of the dtypes an op may give its own outputs (else the activations').
OWN_DTYPES = {"int64": 8, "bool": 1}


@dataclass(frozen=True, slots=True)
class New:
    """A tensor an op allocates: `shape` per example (none when empty) plus `fixed` elements
    whatever the batch, of the activations' dtype or `dtype`, laid out per `layout`."""

    shape: Shape = ()
    fixed: int = 0
    dtype: str | None = None
    layout: str = "like"  # "like", "channels_last", "contiguous", "cat"


@dataclass(frozen=True, slots=True)
class View:
    """A view of the first operand: `channels` (its size), `crop` (top, bottom, left,
    right), `flatten` (a view when the strides allow it, else a contiguous copy) or
    `channels_last` (the operand itself when it is a map laid out channels last with nothing
    between examples, else a channels-last copy: `cnncalc.torch.ChannelLinear`)."""

    kind: str
    args: tuple[int, ...] = ()


INPLACE = "inplace"


@dataclass(frozen=True, slots=True)
class Save:
    """What a recorded op's backward keeps: "operand" `index` (a position in `reads`),
    "result", "extra" `index`, or "copy" of operand `index`; `when` as the module docstring."""

    what: str
    index: int = 0
    when: int | str | None = None


@dataclass(frozen=True, slots=True)
class Op:
    """One tensor operation of a forward pass; `name` is torch's (its aten op: `convolution`,
    `relu_`), compared with the ops torch runs by tests/test_memory_torch.py."""

    name: str
    out: New | View | str
    reads: tuple[int, ...] = (-1,)
    extra: tuple[New, ...] = ()
    params: bool = False
    saves: tuple[Save, ...] = ()


#: Saves used by many kinds.
OPERAND = Save("operand")
RESULT = Save("result")
