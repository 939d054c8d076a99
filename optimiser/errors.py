"""The optimiser's own errors: callers map them to HTTP statuses or exit codes."""


class OptimiserError(Exception):
    """Base of every error the optimiser raises."""


class SnapshotInvalid(OptimiserError):
    """The snapshot breaks the schema or a rule; `errors` names each JSON path."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        lines = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"invalid snapshot: {lines}{more}")


class SolverFailed(OptimiserError):
    """The solver could not be run or returned no usable answer."""
