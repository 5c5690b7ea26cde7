"""Print mimicsync's package-level import graph (every import, top level or inside a function).

    python docs/import_graph.py [REPO_ROOT]

Each line is ``package -> imported package(number of modules importing it)``. The allowed
direction (docs/architecture.md; tests/test_architecture.py checks it) is
format/errors → sync → dataset → acquisition → protocols → cli/gui.
"""

from __future__ import annotations

import ast
import collections
import pathlib
import sys

ORDER = ["format", "errors", "lazy", "sync", "dataset", "acquisition", "protocols", "cli", "gui"]
SKIP = ("tests", "bench", "docs")


def package_graph(root: pathlib.Path) -> dict[str, dict[str, set[str]]]:
    """``{package: {imported package: {modules that import it}}}``."""
    edges: dict[str, dict[str, set[str]]] = collections.defaultdict(lambda: collections.defaultdict(set))
    for f in root.rglob("*.py"):
        rel = f.relative_to(root)
        if rel.parts[0] in SKIP or any(p.startswith(".") for p in rel.parts):
            continue
        src = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for node in ast.walk(ast.parse(f.read_text())):
            mods: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mimicsync"):
                mods = [node.module + ("." + a.name if node.module == "mimicsync" else "") for a in node.names]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names if a.name.startswith("mimicsync")]
            for m in mods:
                parts = m.split(".")
                target = parts[1] if len(parts) > 1 else "mimicsync"
                if target not in (src, "mimicsync", "__version__"):
                    edges[src][target].add(str(rel))
    return edges


def main() -> None:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[1])
    for src, targets in sorted(package_graph(root).items()):
        print(f"{src:12s} -> " + ", ".join(f"{t}({len(v)})" for t, v in sorted(targets.items())))


if __name__ == "__main__":
    main()
