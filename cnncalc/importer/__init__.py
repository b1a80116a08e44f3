"""Importers: an existing model (a torch module, an ONNX file) as a cnncalc spec.

Each importer turns its model into `graph.Op`s (cnncalc kinds with their fields, in execution
order, each with the module path that ran it); `graph.to_spec` writes them as a spec that reads
like a hand-written one and names its rows as the original's modules.
"""
