"""torch's own memory, measured: the bytes autograd saves in a training step, and the peak of
activation storages alive at once in an eval forward pass. No cnncalc code is used here: these
are the outside truths that `cnncalc.analyses.memory` is checked against.

- `saved_bytes`: a forward pass in train mode under `torch.autograd.graph.saved_tensors_hooks`;
  every tensor autograd packs is recorded by its storage (an input saved by two consumers, or
  a view and its base, are one storage, counted once, at the storage's size); the module's
  parameters and buffers (module state, counted apart) are left out.
- `live_peak`: a forward pass in eval mode (no grad; or in train mode with gradients, where
  autograd holds what it saves) under a `TorchDispatchMode` that records
  every storage an aten op returns (a view or an in-place op returns one already known) and
  forgets it when the storage is freed (`weakref.finalize` on the storage, which torch keeps
  alive exactly as long as its StorageImpl); after each op, the total of the storages alive
  (the network's input included, parameters and buffers not) is a candidate for the peak.
  Temporaries inside one aten kernel (below the dispatcher) are not seen.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def _key(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


def _state(module: torch.nn.Module) -> set[int]:
    return {_key(t) for t in [*module.parameters(), *module.buffers()]}


@dataclass
class Saved:
    total: int
    tensors: list[tuple[int, torch.dtype, tuple[int, ...], str]] = field(default_factory=list)


def saved_bytes(module: torch.nn.Module, x: torch.Tensor, backward: bool = False) -> Saved:
    """Bytes of the unique storages autograd saves in one train-mode forward of `module` on
    `x` (parameters and buffers excluded); with `backward`, a second forward pass (without the
    hooks, which switch off torch's in-place version checks) and the backward pass of its
    outputs' sum run too: torch refuses it when an in-place op overwrote a saved tensor."""
    state = _state(module)
    seen: dict[int, tuple[int, torch.dtype, tuple[int, ...], str]] = {}
    keep: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _key(t)
        if key not in state and key not in seen:
            fn = t.grad_fn.name() if t.grad_fn is not None else "leaf"
            seen[key] = (t.untyped_storage().nbytes(), t.dtype, tuple(t.shape), fn)
        keep.append(t)
        return t

    module.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(x)
    del out
    if backward:  # again without hooks: with them, torch skips its in-place version checks
        out = module(x)
        outputs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
        if outputs:
            sum(o.float().sum() for o in outputs).backward()  # type: ignore[union-attr]
    return Saved(sum(v[0] for v in seen.values()), list(seen.values()))


class _Live(TorchDispatchMode):
    def __init__(self, state: set[int]):
        super().__init__()
        self.state = state
        self.live: dict[int, int] = {}
        self.peak = 0
        self.trace: list[tuple[str, int, int]] = []

    def track(self, t: torch.Tensor) -> int:
        """Start following `t`'s storage; its bytes if it is new, else 0."""
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self.live or key in self.state:
            return 0
        self.live[key] = storage.nbytes()
        weakref.finalize(storage, self.live.pop, key, None)
        return storage.nbytes()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None):
        out = func(*args, **(kwargs or {}))
        new = sum(self.track(t) for t in tree_leaves(out) if isinstance(t, torch.Tensor))
        alive = sum(self.live.values())
        self.trace.append((_aten_name(func), new, alive))
        self.peak = max(self.peak, alive)
        return out


@dataclass
class Live:
    peak: int
    #: per aten op: (its name, bytes of the storages it allocated, bytes alive just after it)
    trace: list[tuple[str, int, int]]
    after: int  # bytes alive when the forward has returned (the input and the outputs)

    @property
    def after_allocations(self) -> list[int]:
        """The bytes alive just after each op that allocated something."""
        return [alive for _, new, alive in self.trace if new]

    @property
    def allocating_ops(self) -> list[str]:
        """The aten name of each op that allocated something (`convolution`, `addmm`)."""
        return [name for name, new, _ in self.trace if new]


def _aten_name(func: Any) -> str:
    """`relu_` for `aten.relu_.default`: the op's name without namespace and overload."""
    return str(func).split(".")[1]


def live_peak(module: torch.nn.Module, x: torch.Tensor, training: bool = False) -> Live:
    """The peak of activation storages alive at once in one eval forward of `module` on `x`
    (no gradients); with `training`, of a train-mode forward with gradients, where autograd
    holds what it saves."""
    module.train(training)
    mode = _Live(_state(module))
    mode.track(x)
    mode.peak = sum(mode.live.values())
    with torch.set_grad_enabled(training), mode:
        out = module(x)
        after = sum(mode.live.values())
    del out
    return Live(mode.peak, mode.trace, after)
