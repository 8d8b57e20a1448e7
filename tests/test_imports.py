"""The package's shape: every module imports on its own, the import graph has no cycles (layers
import downward only), and only the command-line programs in `tfgan_orig/cli/` define flags."""

import ast
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "tfgan_orig")


def _modules():
    """Every module of the package as (dotted name, path)."""
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, REPO)[: -len(".py")].replace(os.sep, ".")
                found.append((dotted.removesuffix(".__init__"), path))
    return sorted(found)


MODULES = _modules()


def _imports(path, names):
    """The package modules `path` imports (anywhere in it: top level, inside functions, and in a
    program's `if __name__ == "__main__":` block, which must not import the CLI back either)."""
    tree = ast.parse(open(path).read(), path)
    found = set()

    def visit(node):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "tfgan_orig")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "tfgan_orig":
                for alias in node.names:  # `from tfgan_orig import x`: x may be a module
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in names else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph():
    names = {name for name, _ in MODULES}
    graph = {}
    for name, path in MODULES:
        edges = set()
        for target in _imports(path, names):
            # Importing tfgan_orig.a.b imports the packages above it too.
            parts = target.split(".")
            edges.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
        graph[name] = {e for e in edges if e in names and e != name}
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_import_graph_has_no_cycles():
    graph = _graph()
    assert "tfgan_orig.train_lib" in graph and graph["tfgan_orig.cli.train"]  # the parse worked
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_imports_inside_functions_in_the_library():
    """An import inside a function hides a cycle from readers (and from a top-level-only check)."""
    hidden = []
    for name, path in MODULES:
        tree = ast.parse(open(path).read(), path)
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "tfgan_orig"
                    ):
                        hidden.append(f"{name}:{node.lineno}")
                    if isinstance(node, ast.Import) and any(
                        a.name.startswith("tfgan_orig") for a in node.names
                    ):
                        hidden.append(f"{name}:{node.lineno}")
    assert not hidden, f"package imports inside functions: {hidden}"


def test_only_the_cli_defines_flags():
    offenders = []
    for name, path in MODULES:
        if name.startswith("tfgan_orig.cli."):
            continue
        source = open(path).read()
        if "DEFINE_" in source and ("flags.DEFINE" in source or "config_flags.DEFINE" in source):
            offenders.append(name)
    assert not offenders, f"flags defined outside tfgan_orig/cli/: {offenders}"


# Imports each module named on the command line in its own forked copy of this process, at most
# JOBS at a time, after importing only the third-party PRELOAD modules (never a package module).
# Prints {module: traceback} of the failures as JSON.
_IMPORT_EACH = """
import importlib, json, os, sys, traceback
jobs, preload, modules = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
for name in filter(None, preload):
    importlib.import_module(name)
running, failed = {}, {}

def reap():
    pid, status = os.wait()
    name, read_end = running.pop(pid)
    with os.fdopen(read_end, "rb") as pipe:
        error = pipe.read().decode(errors="replace")
    if status:
        failed[name] = error or f"exit status {status}"

for name in modules:
    if len(running) >= jobs:
        reap()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:
            os.write(write_end, traceback.format_exc()[-2000:].encode())
            code = 1
        os._exit(code)  # no atexit handlers: the parent's copies are not this child's to run
    os.close(write_end)
    running[pid] = (name, read_end)
while running:
    reap()
print(json.dumps(failed))
"""

# Imported before the forks: what `tfgan_orig/__init__.py` imports first anyway (through its
# submodules), so each module's own body still runs with no other package module loaded.
PRELOAD = ("numpy", "tensorflow", "keras")


def import_each(modules, preload=PRELOAD, path=REPO):
    """{module: traceback} for the `modules` that fail to import on their own (see _IMPORT_EACH)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([path, os.environ.get("PYTHONPATH", "")]))
    jobs = str(max(1, min(4, os.cpu_count() or 1)))
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, jobs, ",".join(preload), ",".join(modules)],
        cwd=path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_module_imports_on_its_own():
    """Each module is imported first, with no other package module loaded, in a fork of one
    interpreter that has imported only numpy, tensorflow and keras (one fresh interpreter per module
    spent ~3 s of CPU each re-importing TensorFlow): an import-order dependence or a cycle that only
    bites when a module is imported first shows up here."""
    names = [name for name, _ in MODULES]
    assert len(names) > 30 and "tfgan_orig.cli.train" in names
    failed = import_each(names)
    assert not failed, failed


def test_the_import_check_finds_a_module_that_fails_when_imported_first(tmp_path):
    """`a` imported first runs into a half-initialised `a` through `b` (a cycle that `b` imported
    first hides); each module is tried in its own process, so `b` still passes and `c` fails."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\nVALUE = 1\n")
    (package / "b.py").write_text("from pkg.a import VALUE\n")
    (package / "c.py").write_text("import pkg.a\n")
    failed = import_each(["pkg.a", "pkg.b", "pkg.c", "pkg.missing"], preload=(), path=str(tmp_path))
    assert sorted(failed) == ["pkg.a", "pkg.c", "pkg.missing"], failed
    assert "circular import" in failed["pkg.a"] and "ModuleNotFoundError" in failed["pkg.missing"]


def test_all_programs_import_together_and_define_their_flags_without_clashes():
    """`train`, `evaluate`, `export`, `figure1` share flag names (`--workdir`, `--seed`): importing
    them all in one process defines nothing; each program defines its flags when it runs."""
    code = (
        "import tfgan_orig.train, tfgan_orig.evaluate, tfgan_orig.export, tfgan_orig.figure1\n"
        "from tfgan_orig.cli import train, evaluate, export, figure1\n"
        "from absl import flags\n"
        "assert 'workdir' not in flags.FLAGS, 'a flag was defined at import'\n"
        "evaluate.define_flags()\n"
        "assert 'workdir' in flags.FLAGS\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
