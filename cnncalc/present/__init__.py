"""Results of commands (`result.Result`), built from what the analyses found.

One module per kind of finding: `report` (show, scale), `compare`, `check`, `memory`, `fit`,
`specs`, `verify`, `explain`. They compute nothing new: they arrange numbers that the engine
and the analyses computed into typed tables, notes and documented JSON data.
"""
