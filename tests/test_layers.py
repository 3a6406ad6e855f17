"""The layering holds: each package imports only packages of its own or an earlier layer.

core → parse, store, scale, stats → ops, compress → sources, learn, viz, sinks → cli, testing.
Imports inside functions count too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "streamlab"

LAYER = {
    "errors": 0,
    "core": 0,
    "parse": 1,
    "store": 1,
    "scale": 1,
    "stats": 1,
    "ops": 2,
    "compress": 2,
    "sources": 3,
    "learn": 3,
    "viz": 3,
    "sinks": 3,
    "datasets": 3,
    "cli": 4,
    "testing": 5,
}


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, top-level streamlab package) for every streamlab import in ``path``."""
    rel = path.relative_to(ROOT).with_suffix("").parts  # ('streamlab', 'ops', 'windows')
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[: len(rel) - node.level])
                if path.name == "__init__.py":
                    base = list(rel[: len(rel) - node.level + 1])[:-1] or base
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if not node.module:  # from . import a, b
                    for alias in node.names:
                        found.append((node.lineno, [*parts, alias.name]))
                    continue
            else:
                parts = (node.module or "").split(".")
            found.append((node.lineno, parts))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")) for a in node.names]
    return [(line, p[1]) for line, p in found if len(p) > 1 and p[0] == "streamlab"]


def test_no_package_imports_a_later_layer() -> None:
    wrong = []
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG).with_suffix("").parts
        if parts == ("__init__",) or parts == ("__main__",):
            continue  # the package itself puts the layers together
        own = parts[0]
        for line, target in _imports(path):
            if target in LAYER and own in LAYER and LAYER[target] > LAYER[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({own}) imports {target}")
    assert wrong == []


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PKG.glob("*.py")} - {"__init__", "__main__"}
    assert packages | modules <= set(LAYER)


def test_the_readme_example_step_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("@register_step                     # stream.clip(")
    block = readme[
        readme.rindex("```python", 0, start) + len("```python") : readme.index("```", start)
    ]
    import pandas as pd
    from streamz import Stream

    namespace: dict = {}
    try:
        exec(compile(block, "README.md", "exec"), namespace)
        src = Stream()
        node = src.clip("x", low=0, high=10)
        out, clipped = node.sink_to_list(), node.clipped.sink_to_list()
        src.emit(pd.DataFrame({"x": [-5, 5, 50]}))
        assert out[0]["x"].tolist() == [0, 5, 10]
        assert clipped[0]["x"].tolist() == [-5, 50]
        assert (node.stats.rows, node.stats.clipped) == (3, 2)
        node.set_param("high", 20)
        assert node.high == 20.0
    finally:
        from streamlab.core.registry import REGISTRY

        REGISTRY.pop("clip", None)
        if hasattr(Stream, "clip"):
            del Stream.clip


#: algorithm modules: plain classes and functions, testable on DataFrames alone
ALGORITHMS = (
    *("ops/assign", "ops/aggfns", "ops/grouping", "ops/watermark", "ops/rollcalc", "ops/asof"),
    *("ops/aggregates", "ops/nstime", "learn/scorers", "learn/window_refit", "learn/adwin"),
    *("learn/detectors", "learn/predictions", "learn/prequential", "learn/metrics"),
    *("store/sqlite_schema", "store/sqlite_write", "scale/fanout", "viz/status"),
    *("compress/huffman_code", "compress/deflate_write", "compress/deflate_read"),
    *("compress/lzw_encode", "compress/lzw_decode", "compress/lzw_format"),
    *("compress/timeseries", "compress/timeseries_columns", "compress/lossy_frame"),
    *("compress/quantize", "compress/deadband", "compress/swinging_door", "compress/bits"),
    *("compress/transforms", "compress/entropy", "stats/quantiles", "stats/distinct"),
    "stats/heavy",
)


def test_algorithms_import_neither_streamz_bokeh_nor_asyncio() -> None:
    wrong = []
    for name in ALGORITHMS:
        tree = ast.parse((PKG / f"{name}.py").read_text())
        for node in ast.walk(tree):
            mods = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            wrong += [
                f"{name}: {m}" for m in mods if m.split(".")[0] in ("streamz", "bokeh", "asyncio")
            ]
    assert wrong == []
