"""The feature definitions' Polars expressions compiled into numpy steps, for a few applications at a time.

Polars re-plans every expression on every call (~20 ms for the 640 features of one application,
docs/latency.md); this walks each expression's serialised tree (the JSON the feature-set hash covers) once
and turns every distinct sub-expression into one step, so the sources and conditions hundreds of
aggregates share are computed once per call. Values are float64 arrays with NaN for null (booleans as
1/0/NaN, with Kleene logic), object arrays for text (None for null), a tuple of arrays for a multi-column
selector; a filter keeps its rows as a mask for the aggregation that consumes it, and aggregations reduce
per group of the frame's Grouping. A construct the definitions do not use raises at compile time, so a
new one fails at import rather than computing something else.
"""

import io
import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

Value = Any  # np.ndarray, a tuple of them, a Filtered, or a Python scalar (None for a null literal)
Node = Any  # a parsed JSON node of a serialised Polars expression


@dataclass(frozen=True)
class Grouping:
    """Rows split into groups: `order` sorts the rows by group (None: already sorted), `starts` is where
    each group begins in that order and `of_row` each row's group."""

    order: np.ndarray | None
    starts: np.ndarray
    of_row: np.ndarray

    @property
    def size(self) -> int:
        return len(self.starts)

    @classmethod
    def one(cls, rows: int) -> "Grouping":
        """Every row in one group."""
        return cls(None, np.zeros(1, dtype=np.intp), np.zeros(rows, dtype=np.intp))

    @classmethod
    def sorted(cls, of_row: np.ndarray) -> "Grouping":
        """Rows whose group numbers (0, 1, ...) never decrease."""
        return cls(None, np.flatnonzero(np.diff(of_row, prepend=-1)), of_row)

    @classmethod
    def by(cls, keys: np.ndarray) -> tuple["Grouping", np.ndarray]:
        """One group per distinct row of `keys` (n_rows x k floats without NaN), and those rows."""
        codes = _codes(keys)
        first, of_row = np.unique(codes, return_index=True, return_inverse=True)[1:]
        counts = np.bincount(of_row, minlength=len(first))
        return cls(np.argsort(of_row, kind="stable"), np.cumsum(counts) - counts, of_row), keys[first]

    def reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """`ufunc` over each group's rows of `values` (n_rows or n_rows x k)."""
        return ufunc.reduceat(values if self.order is None else values[self.order], self.starts, axis=0)


@dataclass(frozen=True)
class Frame:
    """Columns by lower-case name (in table order, for selectors), their length, and their grouping."""

    columns: dict[str, np.ndarray]
    height: int
    grouping: Grouping | None = None


@dataclass(frozen=True)
class Filtered:
    """A filter's result: the values and the rows kept (an aggregation reads only those)."""

    values: np.ndarray
    keep: np.ndarray


def is_null(value: Value) -> Any:
    if type(value) is np.ndarray:
        return np.isnan(value) if value.dtype.kind == "f" else np.equal(value, None)
    return value is None or (isinstance(value, float) and np.isnan(value))


def _float(value: Value) -> Any:
    """A null literal as NaN, so it takes part in arithmetic."""
    return np.nan if value is None else value


def aggregate(
    grouping: Grouping, values: np.ndarray, keep: np.ndarray | None, hows: set[str]
) -> dict[str, np.ndarray]:
    """Polars' aggregations `hows` of the non-null values in the kept rows, per group (values n_rows or
    n_rows x k), sharing their intermediate sums: sum and count 0, the others null over no values; std
    with ddof 1."""
    if keep is not None:
        values = np.where(keep if values.ndim == 1 else keep[:, None], values, np.nan)
    done: dict[str, np.ndarray] = {}
    if "min" in hows:
        done["min"] = grouping.reduce(np.fmin, values)
    if "max" in hows:
        done["max"] = grouping.reduce(np.fmax, values)
    if hows & {"count", "sum", "mean", "std"}:
        known = ~np.isnan(values)
        counts = done["count"] = grouping.reduce(np.add, known.astype(np.float64))
        sums = done["sum"] = grouping.reduce(np.add, np.where(known, values, 0.0))
        means = done["mean"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        if "std" in hows:
            deviations = np.where(known, values - means[grouping.of_row], 0.0)
            squares = grouping.reduce(np.add, deviations * deviations)
            done["std"] = np.where(counts > 1, np.sqrt(squares / np.maximum(counts - 1, 1)), np.nan)
    return done


def _n_unique(grouping: Grouping, values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Distinct values per group among the kept rows, null counting as one value (Polars' n_unique)."""
    rows = np.arange(len(values)) if keep is None else np.flatnonzero(keep)
    groups, kept = grouping.of_row[rows], np.where(np.isnan(values[rows]), -np.inf, values[rows])
    order = np.lexsort((kept, groups))
    groups, kept = groups[order], kept[order]
    first = np.ones(len(order), dtype=bool)  # a value's first row in its group, in sorted order
    first[1:] = (groups[1:] != groups[:-1]) | (kept[1:] != kept[:-1])
    return np.bincount(groups[first], minlength=grouping.size).astype(np.float64)


def _codes(keys: np.ndarray) -> np.ndarray:
    """One integer per row of `keys` (n_rows x k), equal for equal rows: 1-D uniques, which numpy does
    far faster than unique rows."""
    codes = np.zeros(len(keys), dtype=np.int64)
    for column in keys.T:
        distinct, code = np.unique(column, return_inverse=True)
        codes = codes * len(distinct) + code
    return codes


def _compare(compare: Callable[[Any, Any], Any]) -> Callable[[Value, Value], Value]:
    def step(left: Value, right: Value) -> Value:
        if left is None or right is None:
            return np.nan
        null = is_null(left) if isinstance(right, (float, str)) else is_null(left) | is_null(right)
        return np.where(null, np.nan, compare(left, right))

    return step


def _and(left: Value, right: Value) -> Value:
    left, right = _float(left), _float(right)
    unknown = np.where(np.isnan(left) | np.isnan(right), np.nan, 1.0)
    return np.where((left == 0) | (right == 0), 0.0, unknown)


def _or(left: Value, right: Value) -> Value:
    left, right = _float(left), _float(right)
    unknown = np.where(np.isnan(left) | np.isnan(right), np.nan, 0.0)
    return np.where((left == 1) | (right == 1), 1.0, unknown)


def _arithmetic(apply: Callable[[Any, Any], Any]) -> Callable[[Value, Value], Value]:
    return lambda left, right: apply(_float(left), _float(right))


_BINARY: dict[str, Callable[[Value, Value], Value]] = {
    "Eq": _compare(np.equal),
    "NotEq": _compare(np.not_equal),
    "Gt": _compare(np.greater),
    "GtEq": _compare(np.greater_equal),
    "Lt": _compare(np.less),
    "LtEq": _compare(np.less_equal),
    "Plus": _arithmetic(operator.add),
    "Minus": _arithmetic(operator.sub),
    "Multiply": _arithmetic(operator.mul),
    "TrueDivide": _arithmetic(operator.truediv),
    "And": _and,
    "Or": _or,
}


def _to_float(value: Value) -> Value:
    """Cast to Float64: text is parsed (only the kept rows of a filter: Polars casts after filtering)."""
    if isinstance(value, Filtered):
        values = np.where(value.keep, value.values, None) if value.values.dtype == object else value.values
        return Filtered(_to_float(values), value.keep)
    if isinstance(value, np.ndarray) and value.dtype == object:
        return np.array([np.nan if v is None else float(v) for v in value])
    return value


def _block(values: Sequence[Value]) -> np.ndarray:
    """The inputs of a horizontal function as one columns x rows array (selectors spread out)."""
    return np.concatenate([np.atleast_2d(np.array(v, dtype=np.float64)) for v in values])


def _sum_horizontal(*values: Value) -> np.ndarray:
    block = _block(values)
    return np.where(np.isnan(block), 0.0, block).sum(axis=0)


def _mean_horizontal(*values: Value) -> np.ndarray:
    block = _block(values)
    counts = (~np.isnan(block)).sum(axis=0)
    return np.where(
        counts > 0, np.where(np.isnan(block), 0.0, block).sum(axis=0) / np.maximum(counts, 1), np.nan
    )


def _fold(ufunc: np.ufunc) -> Callable[..., np.ndarray]:
    return lambda *values: ufunc.reduce(_block(values), axis=0)


def _list_std(ddof: int) -> Callable[[np.ndarray], np.ndarray]:
    """Std of each row's list (n x k, NaN = null, nulls skipped as after drop_nulls)."""

    def std(lists: np.ndarray) -> np.ndarray:
        known = ~np.isnan(lists)
        counts = known.sum(axis=1)
        means = np.where(known, lists, 0.0).sum(axis=1) / np.maximum(counts, 1)
        squares = np.where(known, (lists - means[:, None]) ** 2, 0.0).sum(axis=1)
        return np.where(counts > ddof, np.sqrt(squares / np.maximum(counts - ddof, 1)), np.nan)

    return std


def _is_null(value: Value) -> Value:
    """1/0 per row; a selector's columns become one block, its numeric columns tested in one call."""
    if not isinstance(value, tuple):
        return is_null(value).astype(np.float64)
    flags = np.empty((len(value), len(value[0])))
    numeric = [i for i, column in enumerate(value) if column.dtype.kind == "f"]
    text = [i for i, column in enumerate(value) if column.dtype.kind != "f"]
    if numeric:
        flags[numeric] = np.isnan(np.array([value[i] for i in numeric]))
    if text:
        flags[text] = np.array([np.equal(value[i], None) for i in text])
    return flags


def _map(function: Callable[[np.ndarray], Any]) -> Callable[[Value], Value]:
    """An element-wise function applied to each column of a selector too (they become one block)."""
    return lambda value: (
        np.array([function(v) for v in value]) if isinstance(value, tuple) else function(value)
    )


def _replace_strict(old: list[Any], new: list[Any], default: float) -> Callable[[Value], np.ndarray]:
    mapping = {o: float(n) for o, n in zip(old, new, strict=True)}
    return lambda value: np.array([np.nan if v is None else mapping.get(v, default) for v in value])


def _is_in(allowed: list[Any]) -> Callable[[Value], Value]:
    members = frozenset(allowed)

    def is_in(value: Value) -> Value:
        inside = np.array([v in members for v in value], dtype=np.float64)
        return np.where(is_null(value), np.nan, inside)

    return is_in


def _function(spec: Node, inputs: list[Node]) -> tuple[Callable[..., Value], list[Node]]:
    """The numpy twin of one Polars function node and the inputs it takes (literal lists and defaults
    are taken at compile time)."""
    boolean = spec.get("Boolean") if isinstance(spec, dict) else None
    if isinstance(boolean, dict) and "IsIn" in boolean and not boolean["IsIn"]["nulls_equal"]:
        return _is_in(_literal(inputs[1]["Literal"])), inputs[:1]
    if isinstance(spec, dict) and "ReplaceStrict" in spec and len(inputs) == 4:
        old, new, default = (_literal(node["Literal"]) for node in inputs[1:])
        return _replace_strict(old, new, default), inputs[:1]
    return _element_wise(spec), inputs


def _element_wise(spec: Node) -> Callable[..., Value]:
    """The numpy twin of one Polars element-wise or horizontal function."""
    if spec == {"Boolean": "IsNull"}:
        return _is_null
    if spec == "Negate":
        return operator.neg
    if spec == "FillNull":
        return lambda value, fill: _map(lambda v: np.where(np.isnan(v), fill, v))(value)
    if isinstance(spec, dict) and "Clip" in spec:
        bounds = spec["Clip"]
        lower, upper = np.maximum if bounds["has_min"] else None, np.minimum if bounds["has_max"] else None
        return lambda value, *limits: _clip(value, list(limits), lower, upper)
    if spec == {"SumHorizontal": {"ignore_nulls": True}}:
        return _sum_horizontal
    if spec == {"MeanHorizontal": {"ignore_nulls": True}}:
        return _mean_horizontal
    if spec in ("MinHorizontal", "MaxHorizontal"):
        return _fold(np.fmin if spec == "MinHorizontal" else np.fmax)
    if spec == {"ListExpr": "Concat"}:
        return lambda *values: _block(values).T
    if spec == {"ListExpr": "DropNulls"}:  # list reductions below skip NaN already
        return lambda lists: lists
    if isinstance(spec, dict) and isinstance(spec.get("ListExpr"), dict) and "Std" in spec["ListExpr"]:
        return _list_std(spec["ListExpr"]["Std"])
    raise NotImplementedError(f"Polars function {spec}")


def _clip(value: Value, limits: list[float], lower: Any, upper: Any) -> Value:
    for bound in (lower, upper):
        if bound is not None:
            value = bound(value, limits.pop(0))  # np.maximum/minimum keep NaN (null stays null)
    return value


def _literal(node: Node) -> Value:
    if "Dyn" in node:
        (number,) = node["Dyn"].values()
        return float(number)
    scalar = node["Scalar"]
    if "Null" in scalar:
        return None
    if "String" in scalar:
        return scalar["String"]
    if "List" in scalar:  # Arrow IPC bytes of the series of its values
        return pl.read_ipc_stream(io.BytesIO(bytes(scalar["List"]))).to_series().to_list()
    raise NotImplementedError(f"Polars literal {node}")


def _rows(value: Value) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(value, Filtered):
        return value.values, value.keep
    return value, None


def tree(expr: pl.Expr) -> Node:
    """The expression's serialised tree (the JSON the feature-set hash covers), parsed."""
    return json.loads(expr.meta.serialize(format="json"))


@dataclass(frozen=True)
class _Reduce:
    """An aggregation `how` of the step's one input; a program reduces those sharing (how, kept rows)
    in one call."""

    how: str


class Program:
    """Expression trees compiled into shared numpy steps; `run` evaluates them all on a frame.

    Steps run in three strata: those on rows, then every aggregation (one numpy call per aggregation and
    set of kept rows), then those on the aggregates. An aggregation of an aggregation does not compile."""

    def __init__(self, trees: Sequence[Node]) -> None:
        self._steps: list[tuple[Callable[..., Value], tuple[int, ...], bool]] = []
        self._index: dict[str, int] = {}
        self.outputs = [self._compile(node) for node in trees]
        reduces = [isinstance(step, _Reduce) for step, _, _ in self._steps]
        after = [False] * len(self._steps)  # takes an aggregation's value, directly or not
        for i, (_, inputs, _) in enumerate(self._steps):
            taken = any(reduces[j] or after[j] for j in inputs)
            if reduces[i] and taken:
                raise NotImplementedError("an aggregation of an aggregation")
            after[i] = taken
        self._rows = [i for i, r in enumerate(reduces) if not r and not after[i]]
        self._reduces = [i for i, r in enumerate(reduces) if r]
        self._groups = [i for i, r in enumerate(reduces) if not r and after[i]]

    @classmethod
    def of(cls, exprs: Sequence[pl.Expr]) -> "Program":
        return cls([tree(e) for e in exprs])

    def run(self, frame: Frame) -> list[Value]:
        """Every output's value on `frame` (row values, or one per group for aggregations)."""
        values: list[Value] = [None] * len(self._steps)
        with np.errstate(all="ignore"):  # a ratio's division runs on the rows its `when` then discards
            for i in self._rows:
                values[i] = self._call(i, frame, values)
            if self._reduces:
                self._reduce(frame, values)
            for i in self._groups:
                values[i] = self._call(i, frame, values)
        return [values[i] for i in self.outputs]

    def _call(self, index: int, frame: Frame, values: list[Value]) -> Value:
        step, inputs, needs_frame = self._steps[index]
        arguments = [values[i] for i in inputs]
        return step(frame, *arguments) if needs_frame else step(*arguments)

    def _reduce(self, frame: Frame, values: list[Value]) -> None:
        together: dict[tuple[str, int], list[int]] = {}
        for i in self._reduces:
            step, (source,), _ = self._steps[i]
            kept = values[source].keep if isinstance(values[source], Filtered) else None
            together.setdefault((step.how, id(kept)), []).append(i)  # type: ignore[attr-defined]
        for (how, _), members in together.items():
            inputs = [values[self._steps[i][1][0]] for i in members]
            keep = inputs[0].keep if isinstance(inputs[0], Filtered) else None
            stacked = np.column_stack([_rows(value)[0] for value in inputs])
            reduced = aggregate(_grouping(frame), stacked, keep, {how})[how]
            for column, i in enumerate(members):
                values[i] = reduced[:, column]

    def _compile(self, node: Node) -> int:
        key = json.dumps(node)
        if key not in self._index:
            step, children, needs_frame = self._step(node)
            inputs = tuple(self._compile(child) for child in children)
            self._steps.append((step, inputs, needs_frame))
            self._index[key] = len(self._steps) - 1
        return self._index[key]

    def _step(self, node: Node) -> tuple[Callable[..., Value], list[Node], bool]:
        """(step, child nodes whose values it takes, whether it takes the frame first)."""
        if node == "Len":
            return lambda frame: _grouping(frame).reduce(np.add, np.ones(frame.height)), [], True
        (kind, body), *_ = node.items()
        if kind == "Column":
            return lambda frame: frame.columns[body], [], True
        if kind == "Literal":
            value = _literal(body)
            return lambda: value, [], False
        if kind == "Alias":
            return lambda value: value, [body[0]], False
        if kind == "Cast":
            if body["dtype"] != {"Literal": "Float64"}:
                raise NotImplementedError(f"cast to {body['dtype']}")
            return _to_float, [body["expr"]], False
        if kind == "BinaryExpr":
            return _BINARY[body["op"]], [body["left"], body["right"]], False
        if kind == "Ternary":
            return _ternary, [body["predicate"], body["truthy"], body["falsy"]], False
        if kind == "Filter":  # the kept rows are a step of their own, shared by filters on one condition
            return Filtered, [body["input"], {"Kept": body["by"]}], False
        if kind == "Kept":
            return lambda by: _float(by) == 1, [body], False
        if kind == "Function":
            return (*_function(body["function"], body["input"]), False)
        if kind == "Selector":
            return _selector(body), [], True
        if kind == "Agg":
            return _aggregation(body)
        if kind == "Over" and body["order_by"] is None and body["mapping"] == "GroupsToRows":
            return _window(Program([body["function"]])), body["partition_by"], True
        raise NotImplementedError(f"Polars expression {kind}")


def _grouping(frame: Frame) -> Grouping:
    if frame.grouping is None:
        raise ValueError("an aggregation needs a grouped frame")
    return frame.grouping


def _ternary(predicate: Value, truthy: Value, falsy: Value) -> Value:
    return np.where(_float(predicate) == 1, _float(truthy), _float(falsy))


def _selector(body: Node) -> Callable[[Frame], tuple[np.ndarray, ...]]:
    def names(selector: Node, columns: list[str]) -> list[str]:
        if selector == "Wildcard":
            return columns
        if "ByName" in selector:
            return [c for c in columns if c in selector["ByName"]["names"]]
        if "Matches" in selector:
            return [c for c in columns if re.search(selector["Matches"], c)]
        if "Difference" in selector:
            left, right = selector["Difference"]
            excluded = set(names(right, columns))
            return [c for c in names(left, columns) if c not in excluded]
        raise NotImplementedError(f"Polars selector {selector}")

    chosen: dict[tuple[str, ...], list[str]] = {}  # per frame layout

    def select(frame: Frame) -> tuple[np.ndarray, ...]:
        layout = tuple(frame.columns)
        if layout not in chosen:
            chosen[layout] = names(body, list(layout))
        return tuple(frame.columns[name] for name in chosen[layout])

    return select


def _aggregation(body: Node) -> tuple[Callable[..., Value], list[Node], bool]:
    (how, argument), *_ = body.items()
    if how in ("Max", "Min") and not argument["propagate_nans"]:
        reduced, inputs = how.lower(), [argument["input"]]
    elif how == "Count" and not argument["include_nulls"]:
        reduced, inputs = "count", [argument["input"]]
    elif how == "Std":
        if argument[1] != 1:
            raise NotImplementedError(f"std with ddof {argument[1]}")
        reduced, inputs = "std", [argument[0]]
    elif how in ("Sum", "Mean"):
        reduced, inputs = how.lower(), [argument]
    elif how == "NUnique":
        return lambda frame, value: _n_unique(_grouping(frame), *_rows(value)), [argument], True
    else:
        raise NotImplementedError(f"Polars aggregation {how}")
    return _Reduce(reduced), inputs, False  # type: ignore[return-value]


def _window(inner: Program) -> Callable[..., np.ndarray]:
    """`inner` (one aggregation) per partition of the frame's groups, broadcast back to the rows."""

    def window(frame: Frame, *keys: np.ndarray) -> np.ndarray:
        groups = frame.grouping.of_row if frame.grouping is not None else np.zeros(frame.height)
        partition = np.column_stack([groups, *(np.where(np.isnan(k), -np.inf, k) for k in keys)])
        grouping, _ = Grouping.by(partition)
        (values,) = inner.run(Frame(frame.columns, frame.height, grouping))
        return values[grouping.of_row]

    return window
