"""Architecture rules, read from the source (AST) rather than from running code.

1. Bulk and raw writes only in action modules. ``QuerySet.update()``, ``bulk_create()``,
   ``bulk_update()`` and raw SQL writes send no signal, so the denormalisation registry only
   hears of them when the code declares them (``denorm.changes.changed``). They may appear only
   where that discipline is kept and reviewed: action modules (any ``actions.py``, or a module
   of an ``actions/`` package), denormalisation modules (``*/denormalisations.py`` and the
   ``denorm`` app) and migrations. The heuristic, since the AST has no types:

   - ``x.bulk_create(...)`` and ``x.bulk_update(...)``: always flagged.
   - ``x.update(...)``: flagged when the receiver looks like a queryset: its chain contains
     ``.objects`` or a call of a queryset method (``filter``, ``exclude``, ``all``,
     ``select_for_update``...), or it is a name ending in ``queryset``/``qs``. So
     ``dict.update()``, ``set.update()`` and ``hashlib``'s ``update()`` are not flagged.
   - ``cursor.execute(sql, ...)``/``executemany(...)``, ``Model.objects.raw(sql)`` and
     ``RawSQL(sql, ...)``: flagged when ``sql`` (a string literal, an f-string, a concatenation
     of them, or a name bound to one in the same module) holds ``INSERT INTO``, ``UPDATE
     <table> SET``, ``DELETE FROM`` or ``TRUNCATE``. ``SELECT ... FOR UPDATE`` is a read.

2. No import cycles. Every import of the project's modules counts, function-local ones too
   (they run as surely as module-level ones, just later); ``from a import b`` where ``a.b`` is
   a module counts as importing ``a.b``. Importing ``a.b.c`` also counts as importing the
   packages ``a`` and ``a.b`` when their ``__init__`` imports project modules (it runs first:
   ``reviews.actions`` re-exports its modules, so importing any of them runs all of them), but
   not from a module inside that package (a package re-exporting its own modules is no cycle).
   Imports under ``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", "tests", "migrations", ".data", "node_modules", "staticfiles", "static", "docs"}

# Modules allowed bulk/raw writes although they are not action or denormalisation modules.
# module -> why
WRITE_ALLOW_LIST = {
    # The benchmark builds its own throwaway database (created and dropped by the benchmark, never
    # the site's) with millions of rows in seconds: raw COPY/INSERT is the point, and no Redis copy
    # or signal receiver exists there to be kept in step.
    "bench.picker_bench": "seeds its own throwaway benchmark database",
    # Likewise: builds its own database crowd_listing_bench with INSERT ... SELECT generate_series.
    "bench.listing_bench": "seeds its own throwaway benchmark database",
    # Likewise: a synthetic release of a few thousand pages for the load benchmark's gunicorn.
    "bench.load_bench": "seeds its own throwaway benchmark database",
    "bench.picker_load": "adds documents to the same throwaway benchmark database",
    # Likewise: the simulated crowd's release (2,000 pages) in the same throwaway database.
    "bench.consensus_sim": "seeds its own throwaway benchmark database",
    # Likewise: a synthetic release of up to 458,832 pages with text for the search benchmark.
    "bench.search_bench": "seeds its own throwaway benchmark database",
}

QUERYSET_METHODS = {
    "objects",
    "filter",
    "exclude",
    "all",
    "select_for_update",
    "select_related",
    "prefetch_related",
    "annotate",
    "order_by",
    "only",
    "defer",
    "using",
    "none",
    "distinct",
    "get_queryset",
}
WRITE_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+[\w.\"]+\s+SET|DELETE\s+FROM|TRUNCATE)\b", re.IGNORECASE)


# --- Walking the project ----------------------------------------------------------------------


def project_files() -> dict[str, Path]:
    """Module name -> file, for every Python module of the project (no tests, no migrations)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def is_write_allowed(module: str) -> bool:
    parts = module.split(".")
    return (
        parts[-1] in ("actions", "denormalisations")
        or "actions" in parts[:-1]
        or parts[0] == "denorm"
        or "migrations" in parts
        or module in WRITE_ALLOW_LIST
    )


# --- Rule 1: bulk and raw writes --------------------------------------------------------------


def _string_of(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_string_of(v, constants) or " " for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = _string_of(node.left, constants), _string_of(node.right, constants)
        return None if left is None and right is None else (left or " ") + (right or " ")
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):
        return constants.get(node.attr)
    return None


def _string_constants(tree: ast.AST) -> dict[str, str]:
    constants: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            text = _string_of(node.value, constants)
            if text is not None:
                constants[node.targets[0].id] = text
    return constants


def _looks_like_queryset(node: ast.AST) -> bool:
    while True:
        if isinstance(node, ast.Call):
            node = node.func
            continue
        if isinstance(node, ast.Attribute):
            if node.attr in QUERYSET_METHODS:
                return True
            node = node.value
            continue
        if isinstance(node, ast.Name):
            name = node.id.lower()
            return name in QUERYSET_METHODS or name.endswith(("queryset", "qs"))
        return False


def find_writes(source: str, filename: str = "<source>") -> list[str]:
    """``line: what`` for every bulk or raw write in ``source`` (see the module docstring)."""
    tree = ast.parse(source, filename)
    constants = _string_constants(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        what = None
        if name in ("bulk_create", "bulk_update"):
            what = f".{name}()"
        elif name == "update" and isinstance(func, ast.Attribute) and _looks_like_queryset(func.value):
            what = "QuerySet.update()"
        elif name in ("execute", "executemany", "raw", "RawSQL") and node.args:
            sql = _string_of(node.args[0], constants)
            if sql is not None and WRITE_SQL.search(sql):
                what = f"raw SQL write ({name}: {' '.join(sql.split())[:60]}...)"
        if what:
            found.append(f"{filename}:{node.lineno}: {what}")
    return found


def test_the_checker_flags_a_planted_queryset_update():
    source = (
        "from assignments.models import Assignment\nAssignment.objects.filter(pk=1).update(active=True)\n"
    )
    assert find_writes(source) == ["<source>:2: QuerySet.update()"]


def test_the_checker_flags_bulk_and_raw_writes_and_not_reads_or_dicts():
    source = """
SQL = "DELETE FROM reviews_page WHERE id = %s"
def f(queryset, cursor, pages, d, digest):
    queryset.update(active=False)
    Page.objects.bulk_create(pages)
    cursor.execute(SQL, [1])
    cursor.execute("UPDATE reviews_page SET review_count = 0")
    cursor.executemany(f"INSERT INTO {table} (a) VALUES (%s)", [])
    Page.objects.raw("TRUNCATE reviews_page")
    d.update(a=1)
    digest.update(b"x")
    cursor.execute("SELECT id FROM reviews_page WHERE id = ANY(%s) FOR UPDATE", [[1]])
    """
    lines = [line.split(": ", 1)[1].split(" (")[0] for line in find_writes(source)]
    assert lines == ["QuerySet.update()", ".bulk_create()"] + ["raw SQL write"] * 4


def test_bulk_and_raw_writes_only_in_action_and_denormalisation_modules():
    """Writes that send no signal belong in actions (which declare them) or the registry."""
    offending = []
    for module, path in sorted(project_files().items()):
        if not is_write_allowed(module):
            offending += find_writes(path.read_text(), str(path.relative_to(ROOT)))
    assert not offending, "bulk or raw writes outside action modules:\n" + "\n".join(offending)


def test_the_allow_list_names_real_modules():
    modules = project_files()
    assert all(module in modules for module in WRITE_ALLOW_LIST)


# --- Rule 2: no import cycles -----------------------------------------------------------------


def _imported_modules(module: str, path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()

    def add(name: str) -> None:
        # The deepest project module the name denotes: "a.b.c" may be a module or a name in "a.b".
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            targets.add(name)

    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    targets.discard(module)
    return targets


def _is_type_checking(test: ast.AST) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    files = project_files()
    modules = set(files)
    graph = {module: _imported_modules(module, path, modules) for module, path in files.items()}
    # Importing a.b.c runs a/b/__init__.py first: an edge to each enclosing package that itself
    # imports project modules (an empty __init__ cannot close a cycle), except the importer's own.
    for module, targets in graph.items():
        for target in list(targets):
            parts = target.split(".")
            for n in range(1, len(parts)):
                package = ".".join(parts[:n])
                if graph.get(package) and not (module + ".").startswith(package + "."):
                    targets.add(package)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, component) for component in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first), for the message."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return sorted(component)


def test_the_cycle_finder_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_from_import_of_a_module_counts_as_importing_it(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("def f():\n    from pkg import two\n")
    (package / "two.py").write_text("from . import one\n")
    modules = {"pkg", "pkg.one", "pkg.two"}
    assert _imported_modules("pkg.one", package / "one.py", modules) == {"pkg.two"}
    assert _imported_modules("pkg.two", package / "two.py", modules) == {"pkg.one"}


def test_type_checking_imports_do_not_count(tmp_path):
    (tmp_path / "one.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from two import X\nimport three\n"
    )
    assert _imported_modules("one", tmp_path / "one.py", {"one", "two", "three"}) == {"three"}


def test_the_project_graph_counts_function_local_imports_and_re_exporting_packages():
    graph = import_graph()
    # reviews.importer imports the document actions; the package __init__ re-exports, so it runs.
    assert {"reviews.actions.documents", "reviews.actions"} <= graph["reviews.importer"]
    # The tasks import the importer; nothing the importer imports reaches the tasks module.
    assert "reviews.importer" in graph["reviews.tasks"]


def test_no_import_cycles_between_project_modules():
    """Function-local imports count: a cycle hidden in a function is still a cycle."""
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)
