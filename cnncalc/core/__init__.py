"""The core: reading specs, the spec model, the layer kinds and their formulas, expressions,
the engine and its Report. Imports nothing outside `core` but `cnncalc.errors`."""
