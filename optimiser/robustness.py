"""Robustness of a round's decision to its weights (DESIGN.md section 10).

Panels rarely agree exact weights, but they can agree a rank order of the criteria and bounds
on each weight. Those statements cut a convex polytope out of the weight simplex. This module

- validates them and computes the polytope's extreme points exactly (rational arithmetic);
- draws weight vectors uniformly from it with a seed (exactly uniform: the polytope is
  triangulated into simplices, a simplex is chosen with probability proportional to its volume
  and a point is drawn in it from Dirichlet(1) barycentric coordinates);
- solves the round at every extreme point, at the centroid and at every sample (the parts of a
  study, independent of each other so that a job queue can spread them over workers); and
- assembles the study: each scheme's core index (the share of solutions funding it) and class.

Pure: no database, no web framework. Solving goes through `optimiser.solve`.
"""

import itertools
import math
import random
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from optimiser.errors import OptimiserError
from optimiser.snapshot import CRITERIA, Snapshot
from optimiser.solve import SolveOptions, solve

MAX_SAMPLES = 10_000


class WeightSetInvalid(OptimiserError):
    """The rank order or bounds are inconsistent or empty; `errors` names each field."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


@dataclass(frozen=True)
class WeightSet:
    """{w >= 0, sum w = 1, w[rank[i]] >= w[rank[i+1]], min_c <= w_c <= max_c}."""

    criteria: tuple[str, ...]
    rank_order: tuple[str, ...]
    bounds: dict[str, tuple[Fraction, Fraction]]

    def describe(self) -> dict[str, Any]:
        return {
            "criteria": list(self.criteria),
            "rank_order": list(self.rank_order),
            "bounds": {
                c: {"min": float(lo), "max": float(hi)} for c, (lo, hi) in self.bounds.items()
            },
        }

    def inequalities(self) -> list[tuple[tuple[Fraction, ...], Fraction]]:
        """Every constraint but sum = 1, as (a, b) meaning a . w >= b."""
        n = len(self.criteria)
        index = {c: i for i, c in enumerate(self.criteria)}

        def unit(i: int, sign: int = 1) -> list[Fraction]:
            row = [Fraction(0)] * n
            row[i] = Fraction(sign)
            return row

        rows: list[tuple[tuple[Fraction, ...], Fraction]] = []
        for i in range(n):
            rows.append((tuple(unit(i)), Fraction(0)))
        for better, worse in itertools.pairwise(self.rank_order):
            row = unit(index[better])
            row[index[worse]] = Fraction(-1)
            rows.append((tuple(row), Fraction(0)))
        for criterion, (lo, hi) in self.bounds.items():
            rows.append((tuple(unit(index[criterion])), lo))
            rows.append((tuple(unit(index[criterion], -1)), -hi))
        return rows

    def contains(self, weights: dict[str, float], tolerance: float = 1e-9) -> bool:
        w = [weights[c] for c in self.criteria]
        if abs(sum(w) - 1) > tolerance:
            return False
        return all(
            sum(float(a) * x for a, x in zip(row, w, strict=True)) >= float(b) - tolerance
            for row, b in self.inequalities()
        )


def _fraction(value: Any, path: str, errors: list[dict[str, str]]) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.append({"path": path, "message": "must be a number between 0 and 1"})
        return None
    try:
        number = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        errors.append({"path": path, "message": "must be a number between 0 and 1"})
        return None
    if not 0 <= number <= 1:
        errors.append({"path": path, "message": f"must be between 0 and 1, not {value}"})
        return None
    return number


def weight_set(
    *,
    rank_order: list[str] | None = None,
    bounds: dict[str, Any] | None = None,
    prefix: str = "$",
) -> WeightSet:
    """Validate a rank order and/or bounds; raise WeightSetInvalid naming each bad field."""
    errors: list[dict[str, str]] = []
    rank_order = list(rank_order or [])
    bounds = dict(bounds or {})
    seen: set[str] = set()
    for i, criterion in enumerate(rank_order):
        path = f"{prefix}.rank_order[{i}]"
        if criterion not in CRITERIA:
            errors.append(
                {"path": path, "message": f"{criterion!r} is not one of {', '.join(CRITERIA)}"}
            )
        elif criterion in seen:
            errors.append({"path": path, "message": f"{criterion} is ranked twice"})
        seen.add(criterion)
    parsed: dict[str, tuple[Fraction, Fraction]] = {}
    for criterion, bound in bounds.items():
        path = f"{prefix}.bounds.{criterion}"
        if criterion not in CRITERIA:
            errors.append(
                {"path": path, "message": f"{criterion!r} is not one of {', '.join(CRITERIA)}"}
            )
            continue
        if not isinstance(bound, dict) or set(bound) - {"min", "max"}:
            errors.append({"path": path, "message": "must be an object with min and/or max"})
            continue
        lo = _fraction(bound.get("min", 0), f"{path}.min", errors)
        hi = _fraction(bound.get("max", 1), f"{path}.max", errors)
        if lo is not None and hi is not None:
            if lo > hi:
                errors.append(
                    {
                        "path": f"{path}.min",
                        "message": f"min {float(lo):g} is above max {float(hi):g}",
                    }
                )
            else:
                parsed[criterion] = (lo, hi)
    if errors:
        raise WeightSetInvalid(errors)
    result = WeightSet(criteria=CRITERIA, rank_order=tuple(rank_order), bounds=parsed)
    if not extreme_points(result):
        lows = sum((lo for lo, _ in parsed.values()), Fraction(0))
        highs = sum((parsed.get(c, (0, Fraction(1)))[1] for c in CRITERIA), Fraction(0))
        if lows > 1:
            message = f"the minimum weights add up to {float(lows):g}, more than 1"
            errors.append({"path": f"{prefix}.bounds", "message": message})
        elif highs < 1:
            message = f"the maximum weights add up to {float(highs):g}, less than 1"
            errors.append({"path": f"{prefix}.bounds", "message": message})
        else:
            message = "no weights satisfy both the rank order and the bounds"
            errors.append({"path": f"{prefix}.rank_order", "message": message})
            errors.append({"path": f"{prefix}.bounds", "message": message})
        raise WeightSetInvalid(errors)
    return result


# --- exact geometry -------------------------------------------------------------------------


def _solve_exact(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """The unique solution of a square system, or None if it is singular (Gauss-Jordan)."""
    n = len(matrix)
    a = [row[:] + [b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def _rank(rows: list[list[Fraction]]) -> int:
    a = [r[:] for r in rows]
    rank, cols = 0, len(a[0]) if a else 0
    for col in range(cols):
        pivot = next((r for r in range(rank, len(a)) if a[r][col] != 0), None)
        if pivot is None:
            continue
        a[rank], a[pivot] = a[pivot], a[rank]
        for r in range(len(a)):
            if r != rank and a[r][col] != 0:
                factor = a[r][col] / a[rank][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[rank], strict=True)]
        rank += 1
    return rank


Point = tuple[Fraction, ...]


def extreme_points(weights: WeightSet) -> list[Point]:
    """Every vertex of the weight set, exactly: points where sum = 1 and n - 1 linearly
    independent constraints are tight, which satisfy all the others. Sorted, no duplicates."""
    n = len(weights.criteria)
    rows = weights.inequalities()
    ones = tuple(Fraction(1) for _ in range(n))
    vertices: set[Point] = set()
    for chosen in itertools.combinations(rows, n - 1):
        matrix = [list(ones)] + [list(a) for a, _ in chosen]
        rhs = [Fraction(1)] + [b for _, b in chosen]
        point = _solve_exact(matrix, rhs)
        if point is None:
            continue
        if all(
            sum((x * y for x, y in zip(a, point, strict=True)), Fraction(0)) >= b for a, b in rows
        ):
            vertices.add(tuple(point))
    return sorted(vertices, reverse=True)


def _dimension(points: list[Point]) -> int:
    if len(points) <= 1:
        return 0
    origin = points[0]
    return _rank([[x - o for x, o in zip(p, origin, strict=True)] for p in points[1:]])


def _tight(point: Point, row: tuple[tuple[Fraction, ...], Fraction]) -> bool:
    a, b = row
    return sum((x * y for x, y in zip(a, point, strict=True)), Fraction(0)) == b


def triangulate(weights: WeightSet) -> list[list[Point]]:
    """A triangulation of the weight set into simplices of its own dimension (a pulling
    triangulation: cone the first vertex over a triangulation of every facet missing it)."""
    rows = weights.inequalities()

    def pull(points: list[Point], dim: int) -> list[list[Point]]:
        if dim == 0:
            return [[points[0]]]
        apex = points[0]
        facets: set[frozenset[Point]] = set()
        for row in rows:
            face = frozenset(p for p in points if _tight(p, row))
            if apex in face or len(face) < dim or face in facets or len(face) == len(points):
                continue
            if _dimension(sorted(face)) == dim - 1:
                facets.add(face)
        simplices = []
        for face in sorted(facets, key=sorted):
            for simplex in pull(sorted(face, reverse=True), dim - 1):
                simplices.append([apex, *simplex])
        return simplices

    points = extreme_points(weights)
    return pull(points, _dimension(points))


def _volume(simplex: list[Point], coordinates: list[int]) -> Fraction:
    """|det| of the simplex's edge vectors in `coordinates`: proportional to its volume (the
    same projection for every simplex of one triangulation, so the ratios are exact)."""
    origin = simplex[0]
    edges = [[p[i] - origin[i] for i in coordinates] for p in simplex[1:]]
    if not edges:
        return Fraction(1)
    return abs(_determinant(edges))


def _determinant(matrix: list[list[Fraction]]) -> Fraction:
    a = [r[:] for r in matrix]
    n, det = len(a), Fraction(1)
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            return Fraction(0)
        if pivot != col:
            a[col], a[pivot] = a[pivot], a[col]
            det = -det
        det *= a[col][col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return det


def _projection(points: list[Point], dim: int) -> list[int]:
    """`dim` coordinates on which the set's affine hull projects one-to-one."""
    origin = points[0]
    differences = [[x - o for x, o in zip(p, origin, strict=True)] for p in points[1:]]
    for coordinates in itertools.combinations(range(len(origin)), dim):
        if _rank([[d[i] for i in coordinates] for d in differences]) == dim:
            return list(coordinates)
    return []


@dataclass(frozen=True)
class Geometry:
    vertices: list[Point]
    simplices: list[list[Point]]
    volumes: list[Fraction]
    centroid: Point


def geometry(weights: WeightSet) -> Geometry:
    vertices = extreme_points(weights)
    simplices = triangulate(weights)
    dim = _dimension(vertices)
    coordinates = _projection(vertices, dim)
    volumes = [_volume(s, coordinates) for s in simplices]
    total = sum(volumes, Fraction(0))
    n = len(weights.criteria)
    centroid = tuple(
        sum(
            (
                v * sum((p[i] for p in s), Fraction(0)) / len(s)
                for s, v in zip(simplices, volumes, strict=True)
            ),
            Fraction(0),
        )
        / total
        for i in range(n)
    )
    return Geometry(vertices, simplices, volumes, centroid)


def sample(weights: WeightSet, count: int, seed: int) -> list[dict[str, float]]:
    """`count` weight vectors drawn uniformly from the set, reproducibly for a seed."""
    shape = geometry(weights)
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(float(v) for v in shape.volumes))
    draws = []
    for _ in range(count):
        simplex = shape.simplices[
            min(_bisect(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)
        ]
        gammas = [rng.expovariate(1.0) for _ in simplex]
        total = sum(gammas)
        point = [
            sum(g / total * float(p[i]) for g, p in zip(gammas, simplex, strict=True))
            for i in range(len(weights.criteria))
        ]
        draws.append(_as_weights(weights, point))
    return draws


def _bisect(cumulative: list[float], x: float) -> int:
    import bisect

    return bisect.bisect_right(cumulative, x)


def _as_weights(weights: WeightSet, point) -> dict[str, float]:
    values = [max(float(x), 0.0) for x in point]
    total = math.fsum(values)
    return {c: v / total for c, v in zip(weights.criteria, values, strict=True)}


def exact(point: Point, criteria: tuple[str, ...]) -> dict[str, str]:
    return {c: str(x) for c, x in zip(criteria, point, strict=True)}


# --- a study: plan, parts, assembly ---------------------------------------------------------


@dataclass(frozen=True)
class Part:
    kind: str  # "extreme_point", "centroid" or "sample"
    index: int
    weights: dict[str, float]
    exact: dict[str, str] | None = None

    def to_document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "weights": self.weights,
            "exact": self.exact,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Part":
        return cls(document["kind"], document["index"], document["weights"], document.get("exact"))


def plan(weights: WeightSet, *, samples: int, seed: int) -> list[Part]:
    """Every solve a study needs: extreme points, the centroid, then the samples."""
    shape = geometry(weights)
    parts = [
        Part("extreme_point", i, _as_weights(weights, v), exact(v, weights.criteria))
        for i, v in enumerate(shape.vertices)
    ]
    parts.append(
        Part(
            "centroid",
            0,
            _as_weights(weights, shape.centroid),
            exact(shape.centroid, weights.criteria),
        )
    )
    parts += [Part("sample", i, w) for i, w in enumerate(sample(weights, samples, seed))]
    return parts


STUDY_OPTIONS = SolveOptions(price_rules=False, baseline=False)


def solve_part(
    snapshot: Snapshot, part: Part, options: SolveOptions = STUDY_OPTIONS
) -> dict[str, Any]:
    """Solve the round at one weight vector: status, objective and the funded scheme ids."""
    options = replace(options, price_rules=False, baseline=False)
    result = solve(snapshot.model_copy(update={"weights": dict(part.weights)}), options)
    return {
        "status": result.status,
        "objective": result.objective,
        "funded": [s.id for s in result.schemes if s.outcome == "funded"],
    }


def assemble(
    snapshot: Snapshot,
    weights: WeightSet,
    parts: list[Part],
    outcomes: list[dict[str, Any]],
    *,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """The study document of DESIGN.md section 10 from every part's outcome."""
    extreme, centroid, drawn = [], None, []
    for part, outcome in zip(parts, outcomes, strict=True):
        row = {"weights": part.weights, **outcome}
        if part.kind == "extreme_point":
            extreme.append({**row, "exact_weights": part.exact})
        elif part.kind == "centroid":
            centroid = {**row, "exact_weights": part.exact}
        else:
            drawn.append(row)
    solutions = extreme + drawn
    counts = {s.id: 0 for s in snapshot.schemes}
    for solution in solutions:
        for scheme_id in solution["funded"]:
            counts[scheme_id] = counts.get(scheme_id, 0) + 1
    schemes = []
    for scheme_id, count in counts.items():
        index = count / len(solutions)
        label = "core" if count == len(solutions) else "exterior" if count == 0 else "borderline"
        schemes.append(
            {"id": scheme_id, "core_index": round(index, 6), "funded_in": count, "class": label}
        )
    return {
        "weight_set": weights.describe(),
        "samples": samples,
        "seed": seed,
        "solutions": len(solutions),
        "extreme_points": extreme,
        "centroid": centroid,
        "sampled": [
            {"weights": s["weights"], "status": s["status"], "objective": s["objective"]}
            for s in drawn
        ],
        "schemes": schemes,
        "summary": {
            c: sum(1 for s in schemes if s["class"] == c)
            for c in ("core", "borderline", "exterior")
        },
    }


def study(
    snapshot: Snapshot,
    weights: WeightSet,
    *,
    samples: int,
    seed: int,
    options: SolveOptions = STUDY_OPTIONS,
    progress=None,
) -> dict[str, Any]:
    """A whole study in this process, one part after another (the offline command)."""
    parts = plan(weights, samples=samples, seed=seed)
    outcomes = []
    for done, part in enumerate(parts, start=1):
        outcomes.append(solve_part(snapshot, part, options))
        if progress is not None:
            progress(done, len(parts))
    return assemble(snapshot, weights, parts, outcomes, samples=samples, seed=seed)
