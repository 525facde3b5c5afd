"""Architecture rules, read from the source (AST) rather than from running code.

1. Bulk and raw writes only in action modules. ``QuerySet.update()``, ``bulk_create()``,
   ``bulk_update()`` and raw SQL writes send no signal, so the denormalisation registry only
   hears of them when the code declares them (``denorm.changes.changed``). They may appear only
   where that discipline is kept and reviewed: action modules (any ``actions.py``, or a module
   of an ``actions/`` package), denormalisation modules (``*/denormalisations.py``, a module of a
   ``denormalisations/`` package, and the
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

3. Layers. Every module has a layer (``module_layer``), and imports only modules of its own
   layer or lower ones: ``lib`` < ``denorm`` < the catalogue (documents, pages, tags, members,
   parties) < ``assignments`` (scope, picker) < reviewing (reviews, accounts) < the features
   (``contributors``, ``moderation``, ``results``, ``pagecache``, ``search``, ``consensus``) <
   the site (the pages that combine several apps, the URLconfs, ``config``, the benchmarks).
   docs/architecture.md says why and how a lower layer reaches a higher one: signals, the
   denormalisation registry, settings-named hooks (``lib.hooks``, ``lib.celery_app``). Counted
   as for cycles (function-local imports count, ``TYPE_CHECKING`` ones do not), but for the
   edge to a package whose ``__init__`` re-exports the module imported: importing
   ``catalogue.actions.documents`` does not depend on ``reviews.actions.reviews``. Apps of one
   layer may import each other one way only. ``LAYER_ALLOW_LIST`` names each upward import
   not yet untangled, with the reason; a test fails when an entry no longer exists.
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
    "bench.picker_seed": "seeds its own throwaway benchmark database",
    # Likewise: builds its own database crowd_listing_bench with INSERT ... SELECT generate_series.
    "bench.listing_bench": "seeds its own throwaway benchmark database",
    # Likewise: a synthetic release of a few thousand pages for the load benchmark's gunicorn.
    "bench.load_seed": "seeds its own throwaway benchmark database",
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
        or "denormalisations" in parts[:-1]
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
    if _is_compose(node):
        # lib.sql_names.compose(template, ...): the template's text, its placeholders left as they are.
        return _string_of(node.args[0], constants)
    return None


def _is_compose(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and node.args):
        return False
    func = node.func
    return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)) == "compose"


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
    cursor.execute(compose("DELETE FROM {page} WHERE id = %s", page=Page), [1])
    """
    lines = [line.split(": ", 1)[1].split(" (")[0] for line in find_writes(source)]
    assert lines == ["QuerySet.update()", ".bulk_create()"] + ["raw SQL write"] * 5


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
    # catalogue.importer imports the document actions; the package __init__ re-exports, so it runs.
    assert {"catalogue.actions.documents", "catalogue.actions"} <= graph["catalogue.importer"]
    # The tasks import the importer; nothing the importer imports reaches the tasks module.
    assert "catalogue.importer" in graph["catalogue.tasks"]


def test_no_import_cycles_between_project_modules():
    """Function-local imports count: a cycle hidden in a function is still a cycle."""
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


# --- Rule 3: layers ---------------------------------------------------------------------------

LAYERS = ("lib", "denorm", "catalogue", "assignments", "reviewing", "features", "site")

# The layer of each app: of all its modules, but for the URLconfs (``*.urls``), which are the site's.
APP_LAYERS = {
    "lib": "lib",
    "denorm": "denorm",
    "catalogue": "catalogue",
    "assignments": "assignments",
    "reviews": "reviewing",
    "contributors": "features",
    "moderation": "features",
    "results": "features",
    "pagecache": "features",
    "search": "features",
    "consensus": "features",
    "frontdesk": "site",
    "config": "site",
    "bench": "site",
    "gunicorn": "site",  # gunicorn.conf
    "manage": "site",
}

# Upward imports not yet untangled: (importer, imported) -> why, and what will remove it.
LAYER_ALLOW_LIST: dict[tuple[str, str], str] = {}


def module_layer(module: str) -> str:
    parts = module.split(".")
    return "site" if parts[-1] == "urls" else APP_LAYERS[parts[0]]


def _home(module: str) -> str:
    """The app a module belongs to: its package, but the site app (``frontdesk``) for a URLconf,
    which is the site's wherever it lives."""
    return "frontdesk" if module.split(".")[-1] == "urls" else module.split(".")[0]


def layer_graph() -> dict[str, set[str]]:
    """The import graph without the edges to re-exporting packages (see the docstring)."""
    files = project_files()
    modules = set(files)
    return {module: _imported_modules(module, path, modules) for module, path in files.items()}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            low, high = module_layer(module), module_layer(target)
            if rank[high] > rank[low] and (module, target) not in LAYER_ALLOW_LIST:
                found.append(f"{module} ({low}) imports {target} ({high})")
    return found


def same_layer_two_way(graph: dict[str, set[str]]) -> list[str]:
    """Apps of one layer that import each other (each app's modules of that layer only)."""
    pairs = set()
    for module, targets in graph.items():
        for target in targets:
            a, b = _home(module), _home(target)
            if a != b and module_layer(module) == module_layer(target):
                pairs.add((a, b, module_layer(module)))
    return sorted(f"{a} <-> {b} ({layer})" for a, b, layer in pairs if a < b and (b, a, layer) in pairs)


def test_every_app_has_a_layer():
    assert all(layer in LAYERS for layer in APP_LAYERS.values())
    missing = sorted({m.split(".")[0] for m in project_files()} - set(APP_LAYERS))
    assert not missing, f"apps without a layer (add them to APP_LAYERS): {missing}"


def test_the_layer_checker_catches_a_planted_violation(tmp_path):
    """A lower layer importing a higher one, hidden in a function, is caught; under
    TYPE_CHECKING it is not."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "__init__.py").write_text("")
    (lib / "planted.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from contributors import models\n"
        "def f():\n    from results import selectors\n    return selectors\n"
    )
    modules = {"lib", "lib.planted", "results", "results.selectors", "contributors", "contributors.models"}
    graph = {"lib.planted": _imported_modules("lib.planted", lib / "planted.py", modules)}
    assert layer_violations(graph) == ["lib.planted (lib) imports results.selectors (features)"]
    # A URLconf and a module placed in the site layer may import anything.
    assert (
        layer_violations({"assignments.urls": {"results.views"}, "frontdesk.views": {"search.views"}}) == []
    )
    assert same_layer_two_way({"results.exports": {"search.models"}, "search.views": {"results.params"}}) == [
        "results <-> search (features)"
    ]


def test_lower_layers_do_not_import_higher_ones():
    """docs/architecture.md: a lower layer reaches a higher one through signals, the registry
    or settings-named hooks, never by importing it."""
    violations = layer_violations(layer_graph())
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_apps_of_one_layer_import_each_other_one_way_only():
    pairs = same_layer_two_way(layer_graph())
    assert not pairs, "apps of one layer importing each other both ways:\n" + "\n".join(pairs)


def test_the_layer_allow_list_names_real_imports():
    """An entry whose import is gone must go too (the list only shrinks)."""
    graph = layer_graph()
    stale = [f"{a} -> {b}" for a, b in LAYER_ALLOW_LIST if b not in graph.get(a, set())]
    assert not stale, "allow-listed imports that no longer exist:\n" + "\n".join(stale)


# --- One Lua loader ------------------------------------------------------------------------------


def test_lua_scripts_go_through_the_one_loader():
    """Every script is a ``lib.redis_scripts.LuaScript`` (by SHA, loaded again after NOSCRIPT) and
    every ``.lua`` file is read by ``lib.redis_scripts.script_text``: no redis-py ``Script``
    (``register_script``), no second reader of ``.lua`` files, and no EVAL or EVALSHA sent by
    anything but the loader (:func:`script_calls`)."""
    offending = []
    for module, path in sorted(project_files().items()):
        if module == "lib.redis_scripts":
            continue
        text = path.read_text()
        if "register_script(" in text:
            offending.append(f"{module}: register_script")
        if re.search(r"""joinpath\([^)]*\.lua""", text) or re.search(r"""read_text\(\)[^\n]*lua""", text):
            offending.append(f"{module}: reads a .lua file itself")
        offending += [f"{module}:{line}: {what}" for line, what in script_calls(text)]
    assert not offending, "\n".join(offending)


SCRIPT_COMMANDS = {"eval", "eval_ro", "evalsha", "evalsha_ro"}


def script_calls(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every script sent without the loader: a call of ``x.eval(...)``,
    ``x.evalsha(...)`` (and their ``_ro`` forms), or ``x.execute_command("EVAL", ...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        if name in SCRIPT_COMMANDS:
            found.append((node.lineno, f".{name}()"))
        elif name == "execute_command" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and str(first.value).lower() in SCRIPT_COMMANDS:
                found.append((node.lineno, f"execute_command({first.value!r})"))
    return found


def test_the_script_checker_flags_a_planted_inline_eval():
    source = (
        "def build(pipe, key):\n"
        "    pipe.eval(\"return redis.call('EXPIRE', KEYS[1], 60)\", 1, key)\n"
        "    pipe.execute_command('EVALSHA', 'abc', 1, key)\n"
        "    pipe.sadd(key, 1)\n"
        "    return eval('1 + 1')\n"
    )
    assert script_calls(source) == [(2, ".eval()"), (3, "execute_command('EVALSHA')")]


def test_one_swap_script():
    swaps = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.suffix in (".py", ".lua")
        and not any(part in SKIPPED_DIRS for part in path.relative_to(ROOT).parts[:-1])
        and "redis.call('RENAME'" in path.read_text()
    )
    assert swaps == ["denorm/lua/swap.lua"]


# --- One process harness --------------------------------------------------------------------------

# Modules that start gunicorn or nginx themselves: the harness, and `manage.py serve` (the product).
SERVER_STARTERS = {"bench.harness", "lib.management.commands.serve"}
SPAWNING_CALLS = {"Popen", "run", "call", "check_call", "check_output"}


def server_starts(source: str) -> list[int]:
    """Lines of a subprocess call (``Popen``, ``run``...) whose arguments name gunicorn or nginx (a
    string, or ``gunicorn_command``/``nginx_binary``): a server started without ``bench.harness``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in SPAWNING_CALLS:
            continue
        for inner in ast.walk(
            ast.Tuple(elts=[*node.args, *(k.value for k in node.keywords)], ctx=ast.Load())
        ):
            text = inner.value if isinstance(inner, ast.Constant) else getattr(inner, "id", None)
            if isinstance(text, str) and re.search(r"gunicorn|nginx", text):
                found.append(node.lineno)
                break
    return found


def test_the_server_start_checker_flags_a_planted_gunicorn():
    source = (
        "import subprocess, sys\n"
        "def f(port, command):\n"
        "    subprocess.Popen([sys.executable, '-m', 'gunicorn', 'config.wsgi'])\n"
        "    subprocess.Popen(gunicorn_command(bin_dir, bind=port))\n"
        "    subprocess.run(['celery', '-A', 'config', 'worker'])\n"
        "    subprocess.run([nginx_binary(), '-p', '/tmp'])\n"
    )
    assert server_starts(source) == [3, 4, 6]


def test_gunicorn_and_nginx_are_started_only_by_the_harness():
    """The benchmarks and the tests that need real servers start, wait for and stop them with
    ``bench.harness`` (one way, the production configuration), never with their own Popen."""
    files = {m: p for m, p in project_files().items() if m not in SERVER_STARTERS}
    files.update({str(p.relative_to(ROOT)): p for p in (ROOT / "tests").rglob("*.py")})
    offending = [
        f"{name}:{line}" for name, path in sorted(files.items()) for line in server_starts(path.read_text())
    ]
    assert not offending, "gunicorn or nginx started outside bench.harness:\n" + "\n".join(offending)


# --- One rule of who is staff -------------------------------------------------------------------

STAFF_RULE_HOME = {"lib.web", "lib.actions"}  # the rule; the editor account's creation sets the flag


def staff_flag_reads(source: str) -> list[int]:
    """Lines reading ``<user>.is_staff`` where ``<user>`` is a name or attribute called ``user``
    (``user.is_staff``, ``request.user.is_staff``): the rule written again instead of asking
    ``lib.web.is_staff``. A ``Viewer``'s ``is_staff`` (results.selectors) is derived from it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "is_staff":
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if name == "user":
                found.append(node.lineno)
    return found


def test_the_staff_rule_checker_flags_a_planted_copy():
    assert staff_flag_reads(
        "def f(request):\n    return request.user.is_staff and request.user.is_active\n"
    ) == [2]
    assert staff_flag_reads("def f(viewer):\n    return viewer.is_staff\n") == []


def test_the_staff_rule_is_written_once():
    """``lib.web.is_staff``: a signed-in, active staff account. Every view, selector and page
    asks it (5 renditions disagreed on whether an inactive account counts)."""
    offending = [
        f"{module}:{line}"
        for module, path in sorted(project_files().items())
        if module not in STAFF_RULE_HOME
        for line in staff_flag_reads(path.read_text())
    ]
    assert not offending, "is_staff read directly (use lib.web.is_staff):\n" + "\n".join(offending)


# --- One home for the id bound ------------------------------------------------------------------


def test_the_bigint_bound_lives_in_lib_ids():
    """``lib.ids`` owns the bound (``is_id``, ``parse_id``, the ``<id:...>`` converter); no other
    module writes 2**63 again, and no URLconf takes an id as ``<int:...>`` (which lets
    9223372036854775808 through to the database)."""
    offending = []
    for module, path in sorted(project_files().items()):
        if module == "lib.ids":
            continue
        text = path.read_text()
        if re.search(r"2\s*\*\*\s*63|9223372036854775807", text):
            offending.append(f"{module}: the bigint bound written again")
        if "<int:" in text:
            offending.append(f"{module}: <int:...> in a path (use <id:...>)")
    assert not offending, "\n".join(offending)


# --- Tests do not import each other ---------------------------------------------------------------


def test_test_modules_do_not_import_other_test_modules():
    """A fixture or helper used by several test modules lives in a support module (``_support``,
    ``tests/*_support.py``; fixtures registered in tests/conftest.py), not in a test module that
    the others import: importing one runs its tests' module code and re-collects its fixtures."""
    offending = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(name.rpartition(".")[2].startswith("test_") for name in names):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offending, "test modules importing test modules:\n" + "\n".join(offending)


# --- Modules a person can hold in their head ------------------------------------------------------

MAX_MODULE_LINES = 500

# Modules still over the bound: module -> why, and what will bring it under.
SIZE_ALLOW_LIST: dict[str, str] = {}


def long_modules() -> dict[str, int]:
    found = {}
    for module, path in project_files().items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            found[module] = lines
    return found


def test_no_module_is_over_500_lines():
    """Split by what a reader looks for (one module per denormalised copy, per concern); the
    allow-list says why each exception is still there."""
    over = {m: n for m, n in long_modules().items() if m not in SIZE_ALLOW_LIST}
    assert not over, "modules over 500 lines:\n" + "\n".join(f"{m}: {n}" for m, n in sorted(over.items()))


def test_the_size_allow_list_only_names_long_modules():
    stale = sorted(set(SIZE_ALLOW_LIST) - set(long_modules()))
    assert not stale, f"under {MAX_MODULE_LINES} lines now: remove from SIZE_ALLOW_LIST: {stale}"


# --- Table names come from the models -------------------------------------------------------------

# SQL keywords (upper case, as the project writes SQL) that make a string a statement or a fragment
# of one; a docstring or a ``derived_from`` note naming a table in prose is not SQL.
SQL_WORDS = re.compile(r"\b(SELECT|FROM|JOIN|UPDATE|INSERT|DELETE|TRUNCATE|WHERE)\b")

# Modules whose SQL still names its tables by hand: module -> why, and what will remove it.
TABLE_NAME_ALLOW_LIST = {
    # denorm sits below the catalogue and the reviewing (docs/architecture.md) and may not import
    # their models; the restore drill's one-line summary counts three tables of a restored copy.
    "denorm.management.commands.restore_check": "a lower layer's summary of a restored copy",
}


def project_tables() -> set[str]:
    """Every table of the project's own models (auto-created many-to-many tables included)."""
    from django.apps import apps

    def ours(app_label: str) -> bool:
        # The project's apps live under ROOT; installed packages may too (a virtualenv in the
        # checkout, as ``make`` makes it), but never as a project package.
        path = Path(apps.get_app_config(app_label).path).resolve()
        return path.is_relative_to(ROOT) and "site-packages" not in path.parts

    return {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if ours(model._meta.app_label)
    }


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def table_name_literals(source: str, tables: set[str], filename: str = "<source>") -> list[str]:
    """``line: table`` for each table of ``tables`` written in a SQL string of ``source``: a string
    literal, an f-string or a concatenation of them (docstrings excepted) holding an upper-case SQL
    keyword and the table's name as a word."""
    tree = ast.parse(source, filename)
    docstrings = _docstrings(tree)
    names = re.compile(r"\b(" + "|".join(sorted(map(re.escape, tables))) + r")\b")
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docstrings:
            continue
        hits = names.findall(node.value)
        if not hits:
            continue
        # The whole string expression this literal is part of decides whether it is SQL.
        top: ast.AST = node
        while isinstance(parents.get(id(top)), ast.JoinedStr | ast.BinOp | ast.FormattedValue):
            top = parents[id(top)]
        text = _string_of(top, {}) or node.value
        if SQL_WORDS.search(text):
            found += [f"{filename}:{node.lineno}: {hit}" for hit in sorted(set(hits))]
    return found


def test_the_table_name_checker_flags_a_planted_literal():
    """A table written into SQL is caught, in a plain string, an f-string or a concatenation;
    the same name in a docstring, a prose note or a placeholder is not."""
    source = '''
"""Reads reviews_page (a docstring: prose)."""
A = "SELECT id FROM reviews_page WHERE id = %s"
B = f"UPDATE reviews_pagetag SET n = {n}"
C = "SELECT p.id FROM {page} p" + " JOIN reviews_review r ON r.page_id = p.id"
D = Denormalisation(derived_from="`reviews_page.review_count`")
E = compose("SELECT id FROM {page} WHERE id = %s", page=Page)
F = "SELECT id FROM reviews_pages"
'''
    tables = {"reviews_page", "reviews_pagetag", "reviews_review"}
    assert table_name_literals(source, tables) == [
        "<source>:3: reviews_page",
        "<source>:4: reviews_pagetag",
        "<source>:5: reviews_review",
    ]


def test_the_project_tables_are_the_models_tables():
    tables = project_tables()
    assert {"reviews_page", "reviews_review", "assignments_assignment_documents"} <= tables
    assert "auth_user" not in tables  # Django's, not the project's


def test_sql_takes_table_names_from_the_models():
    """Hand-written SQL names its tables by placeholder, filled from ``Model._meta.db_table``
    (``lib.sql_names.compose``), never by a name typed into the string (migrations, tests and the
    benchmark's throwaway seeding excepted)."""
    tables = project_tables()
    offending = []
    for module, path in sorted(project_files().items()):
        # The benchmark's seeders (WRITE_ALLOW_LIST) write their own throwaway databases.
        if module in WRITE_ALLOW_LIST or module in TABLE_NAME_ALLOW_LIST:
            continue
        offending += table_name_literals(path.read_text(), tables, str(path.relative_to(ROOT)))
    assert not offending, "table names written into SQL (use lib.sql_names):\n" + "\n".join(offending)


def test_the_table_name_allow_list_only_names_offending_modules():
    tables, files = project_tables(), project_files()
    stale = sorted(
        module
        for module in TABLE_NAME_ALLOW_LIST
        if module not in files or not table_name_literals(files[module].read_text(), tables)
    )
    assert not stale, f"no table name written into SQL now: remove from TABLE_NAME_ALLOW_LIST: {stale}"


def test_the_admin_names_every_project_model_in_plain_english():
    """Django's default plural adds an "s": the admin's index said "Reliabilitys". Every model of
    the project whose name ends in a consonant and "y" sets its plural."""
    from django.apps import apps

    naive = [
        f"{m._meta.app_label}.{m.__name__}: {m._meta.verbose_name_plural}"
        for m in apps.get_models()
        if m.__module__.split(".")[0] in APP_LAYERS
        and re.search(r"[^aeiou]ys$", str(m._meta.verbose_name_plural))
    ]
    assert naive == []
