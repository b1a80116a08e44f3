"""Analyses that read a finished Report (or rewrite a spec before the engine): memory,
receptive fields, budgets, scaling and fitting, explanations, the convolution example and
the comparison with torch. They import `core`, never commands, results or writers."""
