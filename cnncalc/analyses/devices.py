"""Device profiles: the peak rates a roofline latency estimate divides by.

A profile is a small YAML file. The bundled ones live in `cnncalc/devices/` (H100, A100, L4,
T4, a desktop AVX2 CPU, a phone-class Arm CPU), each naming the datasheet its numbers come
from; `--device path.yaml` reads a user's own, validated with the same rules:

    name: my-gpu                      # required: a word
    description: what it is           # optional, one line
    kind: gpu                         # gpu or cpu: what `verify --device` measures it (cuda, cpu)
    memory_bandwidth_gb_s: 3350       # required, above 0: 10^9 bytes per second
    peak_tops:                        # required, at least one dtype (fp32, fp16, bf16, int8)
      fp16: 989.5                     #   10^12 operations per second, dense, two per MAC
    efficiency: {compute: 1, memory: 1}   # optional: the share of each peak reached (0 to 10]
    overhead_us: 0                    # optional: fixed microseconds per executed row
    sources: [the datasheet and what it says]   # required for a profile cnncalc ships

Units are in the key's name, so a number means one thing: `peak_tops` is the datasheet's
TFLOPS (TOPS for int8), two operations per multiply-accumulate, and the dense rate (a rate
"with sparsity" is twice what a dense convolution can use). Nothing here is measured; a
profile says what the hardware cannot exceed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from ..core.loader import LineDict, load_yaml, read_text
from ..core.units import DTYPE_BYTES
from ..errors import CnnCalcError, Problem, suggest

#: the keys a profile may have, in the order the docs list them
KEYS = ("name", "description", "kind", "memory_bandwidth_gb_s", "peak_tops", "efficiency",
        "overhead_us", "sources", "notes")
KINDS = ("gpu", "cpu")
#: the most a fitted or written efficiency may be: above 1 is possible where the model is
#: pessimistic (caches keep tensors off DRAM, boost clocks), never a typo's 100
MAX_EFFICIENCY = 10.0
#: bounds that catch a unit mistake (GB/s written as bytes/s, TOPS as FLOPS)
MAX_BANDWIDTH_GB_S = 1e6
MAX_PEAK_TOPS = 1e6
MAX_OVERHEAD_US = 1e6


@dataclass(frozen=True, slots=True)
class Profile:
    """A device's peak rates (validated), where they came from, and the efficiency factors
    an estimate applies to them."""

    name: str
    kind: str
    memory_bandwidth_gb_s: float
    peak_tops: dict[str, float]
    description: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""
    compute_efficiency: float = 1.0
    memory_efficiency: float = 1.0
    overhead_us: float = 0.0
    file: str = ""
    bundled: bool = False

    @property
    def bytes_per_s(self) -> float:
        """Memory bandwidth in bytes per second."""
        return self.memory_bandwidth_gb_s * 1e9

    def macs_per_s(self, dtype: str) -> float:
        """Peak multiply-accumulates per second at `dtype`: half the datasheet's operations
        (one MAC is a multiply and an add)."""
        if dtype not in self.peak_tops:
            have = ", ".join(self.peak_tops)
            raise CnnCalcError(Problem(
                f"the device '{self.name}' has no {dtype} rate (it lists {have}); pick "
                f"--dtype {next(iter(self.peak_tops))}, or give a profile of your own with "
                f"peak_tops.{dtype}", file=self.file or None))
        return self.peak_tops[dtype] * 1e12 / 2

    def with_factors(self, compute: float, memory: float, overhead_us: float) -> Profile:
        """The same device with other efficiency factors (a calibration's)."""
        return replace(self, compute_efficiency=compute, memory_efficiency=memory,
                       overhead_us=overhead_us)


@cache
def devices_dir() -> Path:
    """The bundled profiles: `devices/` inside the package."""
    return Path(__file__).resolve().parent.parent / "devices"


def bundled_devices() -> dict[str, Path]:
    """Bundled profile names and their files, sorted by name."""
    folder = devices_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def load_profile(ref: str) -> Profile:
    """A bundled profile by name, or a profile file (a path: it has a `/` or ends in .yaml)."""
    devices = bundled_devices()
    if ref in devices and not Path(ref).exists():
        return parse_profile(read_text(devices[ref]), str(devices[ref]), bundled=True)
    if Path(ref).exists() or ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        return parse_profile(read_text(ref), ref)
    raise CnnCalcError(Problem(
        f"--device: no bundled device '{ref}'{suggest(ref, devices)}; bundled: "
        f"{', '.join(devices)} (or give a profile file: --device my-device.yaml)"))


#: what a key is often called elsewhere, to suggest the key (the unit is in our names)
ALIASES = {"bandwidth": "memory_bandwidth_gb_s", "memory_bandwidth": "memory_bandwidth_gb_s",
           "bandwidth_gb_s": "memory_bandwidth_gb_s", "peak": "peak_tops",
           "peak_tflops": "peak_tops", "peaks": "peak_tops", "tflops": "peak_tops",
           "overhead": "overhead_us", "source": "sources", "type": "kind"}


def _suggest_key(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, [*KEYS, *ALIASES], n=1, cutoff=0.6)
    return f" (did you mean '{ALIASES.get(close[0], close[0])}'?)" if close else ""


def _number(value: Any, key: str, low: float, high: float, *, above: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number) or number < low or (above and number == low) or number > high:
        span = f"above {low:g}" if above else f"from {low:g}"
        raise ValueError(f"{key} must be a number {span} and at most {high:g}, got "
                         f"{_shown(value)}")
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_profile(text: str, file: str, bundled: bool = False) -> Profile:
    """A checked Profile of a profile's YAML text; every problem at once, each with its line."""
    raw = load_yaml(text, file)
    problems: list[Problem] = []

    def line(mapping: Any, key: str) -> int | None:
        return mapping.line_of(key) if isinstance(mapping, LineDict) else None

    def problem(message: str, at: int | None) -> None:
        problems.append(Problem(message, file, at))

    if not isinstance(raw, dict):
        raise CnnCalcError(Problem(
            "a device profile must be a mapping with name, kind, memory_bandwidth_gb_s and "
            "peak_tops", file, getattr(raw, "line", 1)))
    for key in raw:
        if key not in KEYS:
            problem(f"unknown key '{key}'{_suggest_key(str(key))} (a profile has: "
                    f"{', '.join(KEYS)})", line(raw, key))
    for key in ("name", "kind", "memory_bandwidth_gb_s", "peak_tops"):
        if key not in raw:
            problem(f"{key} is missing", getattr(raw, "line", 1))
    if bundled and not raw.get("sources"):
        problem("a bundled profile must name its sources", getattr(raw, "line", 1))
    found: dict[str, Any] = {}

    def check(key: str, rule: Any) -> None:
        if key in raw:
            try:
                found[key] = rule(raw[key])
            except ValueError as exc:
                problem(str(exc), line(raw, key))

    def name(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > 80:
            raise ValueError(f"name must be text of 1 to 80 characters, got {_shown(value)}")
        return value

    def text_of(key: str) -> Any:
        def rule(value: Any) -> str:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be text, got {_shown(value)}")
            return value
        return rule

    def kind(value: Any) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be gpu or cpu, got {_shown(value)}")
        return str(value)

    def peaks(value: Any) -> dict[str, float]:
        if not isinstance(value, dict) or not value:
            raise ValueError("peak_tops must be a mapping of dtype to 10^12 operations per "
                             f"second, e.g. {{fp16: 989.5}}; got {_shown(value)}")
        out = {}
        for dtype, rate in value.items():
            if dtype not in DTYPE_BYTES:
                raise ValueError(f"peak_tops: unknown dtype '{dtype}'"
                                 f"{suggest(str(dtype), DTYPE_BYTES)} (one of "
                                 f"{', '.join(DTYPE_BYTES)})")
            out[str(dtype)] = _number(rate, f"peak_tops.{dtype}", 0, MAX_PEAK_TOPS, above=True)
        return out

    def efficiency(value: Any) -> dict[str, float]:
        if not isinstance(value, dict) or set(value) - {"compute", "memory"}:
            raise ValueError("efficiency must be a mapping {compute: SHARE, memory: SHARE}, "
                             f"got {_shown(value)}")
        return {k: _number(v, f"efficiency.{k}", 0, MAX_EFFICIENCY, above=True)
                for k, v in value.items()}

    def sources(value: Any) -> tuple[str, ...]:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip()
                                                  for s in value):
            raise ValueError(f"sources must be text or a list of texts, got {_shown(value)}")
        return tuple(value)

    check("name", name)
    check("description", text_of("description"))
    check("notes", text_of("notes"))
    check("kind", kind)
    check("memory_bandwidth_gb_s", lambda v: _number(v, "memory_bandwidth_gb_s", 0,
                                                     MAX_BANDWIDTH_GB_S, above=True))
    check("peak_tops", peaks)
    check("efficiency", efficiency)
    check("overhead_us", lambda v: _number(v, "overhead_us", 0, MAX_OVERHEAD_US, above=False))
    check("sources", sources)
    if problems:
        raise CnnCalcError(problems)
    shares = found.get("efficiency", {})
    return Profile(
        name=found["name"], kind=found["kind"],
        memory_bandwidth_gb_s=found["memory_bandwidth_gb_s"], peak_tops=found["peak_tops"],
        description=found.get("description", ""), sources=found.get("sources", ()),
        notes=found.get("notes", ""), compute_efficiency=shares.get("compute", 1.0),
        memory_efficiency=shares.get("memory", 1.0), overhead_us=found.get("overhead_us", 0.0),
        file=file, bundled=bundled)

