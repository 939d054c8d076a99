"""Pure capital-allocation optimiser: a snapshot document in, a result document out.

No web framework and no database here: see DESIGN.md section 4 for the model.
"""

from optimiser.errors import OptimiserError, SnapshotInvalid, SolverFailed
from optimiser.frontier import frontier
from optimiser.snapshot import Snapshot, parse_snapshot
from optimiser.solve import SolveOptions, solve

__all__ = [
    "OptimiserError",
    "SnapshotInvalid",
    "SolverFailed",
    "Snapshot",
    "SolveOptions",
    "frontier",
    "parse_snapshot",
    "solve",
]
