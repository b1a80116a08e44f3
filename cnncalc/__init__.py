"""cnncalc: shapes, parameters, multiply-adds and memory of convolutional networks.

    >>> import cnncalc
    >>> report = cnncalc.analyze(cnncalc.load("lenet5"))
    >>> report.totals.params
    62006

The core never imports torch; `cnncalc.torch` (an optional extra) builds specs as modules.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .engine import analyze
from .errors import CnnCalcError, Problem
from .source import bundled, load, load_text

__all__ = ["__version__", "CnnCalcError", "Problem", "analyze", "bundled", "load", "load_text"]
