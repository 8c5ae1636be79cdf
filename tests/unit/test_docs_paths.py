"""Every repository path the docs name exists (README.md and every Markdown file under docs/).

What counts as a path:

- a Markdown link target that is not a URL, an anchor or a site path (``/api/v1/...``), resolved
  against the directory of the Markdown file: ``(adr/0010-mail-outbox.md)``;
- a backticked word that starts with a top-level directory of the repository, resolved against
  the repository root: `src/gatehouse/main/app.py`, `tests/support/`, `docs/adr/`, `.ci/run`;
- a backticked `gatehouse/...` path, resolved under src/;
- a backticked dotted `gatehouse.x.y` name: a module or package under src/, optionally followed
  by a name that module defines at top level (`gatehouse.main.modules.start_mappers()`);
- a backticked Python file written relative to a context the prose gives (`shared/pg.py`,
  `application/login.py` in the paragraph about the auth module): a weaker check, some file of
  the repository must end with that path.

Not paths: URLs, globs (``*``), placeholders (``<name>``, ``{id}``, ``YYYY``, ``…``), bare file
names (`settings.py`), words in fenced code blocks, and the files a Makefile recipe writes
(``> docs/openapi.json``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]

# A backticked word is a repository path when it starts with one of these.
TOP_LEVEL_DIRS = ("src", "tests", "docs", "bench", "alembic", ".ci", ".github", "deploy")
PACKAGE = "gatehouse"

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PLACEHOLDER = re.compile(r"[<>{}*?\[\]$…]|\.\.\.|\b([A-Z])\1{2,}\b")
_DOTTED = re.compile(rf"{PACKAGE}(?:\.[A-Za-z_]\w*)+")
_PYTHON_TAIL = re.compile(r"\w[\w.-]*(?:/[\w.-]+)+\.py")
_MAKE_OUTPUT = re.compile(r">\s*([\w./-]+)")


@dataclass(frozen=True)
class Reference:
    """A path as one Markdown file names it."""

    document: Path
    name: str  # the document's path from the repository root, for messages
    line: int
    written: str
    kind: str  # "link", "path", "module" or "tail"

    def __str__(self) -> str:
        shown = f"({self.written})" if self.kind == "link" else f"`{self.written}`"
        return f"{self.name}:{self.line}: {shown}"


def markdown_files(repo: Path = REPO) -> list[Path]:
    return [repo / "README.md", *sorted((repo / "docs").rglob("*.md"))]


def _without_fenced_blocks(text: str) -> str:
    """The text with every fenced code block blanked out, lines kept so line numbers hold."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)[0] * 3
            kept.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            kept.append("")
        else:
            kept.append(line)
    return "\n".join(kept)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _clean_word(word: str) -> str:
    word = word.strip("\"'`,;:()[]")
    word = word.split("::", 1)[0]  # a pytest node id: tests/x.py::test_y
    word = re.sub(r":\d+(?:-\d+)?$", "", word)  # a line number: src/x.py:12
    return word.removeprefix("./").rstrip(".")


def _is_placeholder(word: str) -> bool:
    return "://" in word or bool(_PLACEHOLDER.search(word))


def _classify(word: str) -> str | None:
    if not word or _is_placeholder(word):
        return None
    if word.startswith(tuple(f"{d}/" for d in (*TOP_LEVEL_DIRS, PACKAGE))):
        return "path"
    if _DOTTED.fullmatch(word):
        return "module"
    if _PYTHON_TAIL.fullmatch(word):
        return "tail"
    return None


def references(document: Path, repo: Path = REPO) -> list[Reference]:
    """The repository paths one Markdown file names, in backticks or as link targets."""
    name = document.relative_to(repo).as_posix()
    text = _without_fenced_blocks(document.read_text(encoding="utf-8"))
    found: list[Reference] = []
    for span in _CODE_SPAN.finditer(text):
        for word in span.group(1).split():
            cleaned = _clean_word(word)
            kind = _classify(cleaned)
            if kind is not None:
                found.append(Reference(document, name, _line_of(text, span.start()), cleaned, kind))
    # Links are read with the code spans blanked out, so `[a](b)` in code is not a link.
    prose = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    for pattern in (_LINK, _LINK_DEFINITION):
        for link in pattern.finditer(prose):
            target = link.group(1)
            if target.startswith(("#", "/")) or _URL.match(target) or _is_placeholder(target):
                continue
            target = unquote(re.split(r"[#?]", target, maxsplit=1)[0])
            if target:
                found.append(
                    Reference(document, name, _line_of(prose, link.start()), target, "link")
                )
    return sorted(found, key=lambda r: (r.line, r.written))


@cache
def _top_level_names(module: Path) -> frozenset[str]:
    """Names a module binds at top level: functions, classes, assignments and imports."""
    names: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def _module_file(source: Path, parts: list[str]) -> Path | None:
    candidate = source.joinpath(*parts)
    for module in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if module.is_file():
            return module
    return None


def _module_exists(source: Path, dotted: str) -> bool:
    """A module or package under ``source``, or a name the longest such module defines."""
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        module = _module_file(source, parts[:length])
        if module is not None:
            rest = parts[length:]
            return not rest or rest[0] in _top_level_names(module)
    return False


@cache
def _python_files(repo: Path) -> tuple[str, ...]:
    return tuple(
        f"/{path.relative_to(repo).as_posix()}"
        for top in TOP_LEVEL_DIRS
        for path in (repo / top).rglob("*.py")
    )


def _make_outputs(repo: Path) -> frozenset[str]:
    """Files a Makefile recipe writes with ``>``: named in the docs, absent from a checkout."""
    makefile = repo / "Makefile"
    if not makefile.is_file():
        return frozenset()
    return frozenset(_MAKE_OUTPUT.findall(makefile.read_text(encoding="utf-8")))


def exists(reference: Reference, repo: Path = REPO) -> bool:
    written = reference.written
    if reference.kind == "module":
        return _module_exists(repo / "src", written)
    if reference.kind == "link":
        return (reference.document.parent / written).exists()
    if reference.kind == "tail":
        return any(path.endswith(f"/{written}") for path in _python_files(repo))
    if written.startswith(f"{PACKAGE}/"):
        return (repo / "src" / written).exists()
    return (repo / written).exists() or written.rstrip("/") in _make_outputs(repo)


def missing_paths(repo: Path = REPO) -> list[Reference]:
    found = (r for doc in markdown_files(repo) for r in references(doc, repo))
    return [r for r in found if not exists(r, repo)]


# ---------------------------------------------------------------- the docs of this repository


def test_every_path_the_docs_name_exists() -> None:
    missing = missing_paths()
    if missing:
        listed = "\n".join(f"  {reference}" for reference in missing)
        pytest.fail(f"paths named in the docs that do not exist:\n{listed}", pytrace=False)


def test_the_scan_finds_paths_of_every_kind_in_the_docs() -> None:
    # Guards the checker itself: a pattern that silently matched nothing would pass the test above.
    found = [r for doc in markdown_files() for r in references(doc)]
    assert {r.kind for r in found} == {"link", "path", "module", "tail"}
    assert any(r.document.parent.name == "adr" for r in found)


# ---------------------------------------------------------------- the checker, on made-up docs


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for path in (
        "src/gatehouse/__init__.py",
        "src/gatehouse/shared/__init__.py",
        "src/gatehouse/shared/errors.py",
        "tests/support/infra.py",
        "docs/adr/0001-first.md",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    (tmp_path / "src/gatehouse/shared/errors.py").write_text(
        "from x import y as Alias\n\nclass NotFound(Exception): ...\n\nLIMIT: int = 3\n",
        encoding="utf-8",
    )
    (tmp_path / "Makefile").write_text("openapi:\n\tpython -m x > docs/openapi.json\n")
    return tmp_path


def write_doc(repo: Path, text: str, name: str = "docs/guide.md") -> Path:
    document = repo / name
    document.write_text(text, encoding="utf-8")
    (repo / "README.md").touch()
    return document


def test_every_missing_path_is_reported_with_the_file_and_line_that_names_it(repo: Path) -> None:
    write_doc(
        repo,
        "See `src/gatehouse/shared/errors.py` and `src/gatehouse/shared/gone.py`.\n"
        "The [ADR](adr/0001-first.md), the [old one](adr/0002-gone.md#context) and\n"
        "`tests/support/infra.py::test_x`, `tests/support/nope.py:12`, `gatehouse/shared/`,\n"
        "`gatehouse/main/app.py`, `gatehouse.shared.errors`, `gatehouse.shared.errors.NotFound`,\n"
        "`gatehouse.shared.errors.LIMIT`, `gatehouse.shared.errors.Alias`,\n"
        "`gatehouse.shared.errors.Missing`, `gatehouse.shared.nothing` and `docs/openapi.json`\n"
        "[up](../README.md), `shared/errors.py`, `support/infra.py` and `shared/gone.py`.\n",
    )
    assert [str(r) for r in missing_paths(repo)] == [
        "docs/guide.md:1: `src/gatehouse/shared/gone.py`",
        "docs/guide.md:2: (adr/0002-gone.md)",
        "docs/guide.md:3: `tests/support/nope.py`",
        "docs/guide.md:4: `gatehouse/main/app.py`",
        "docs/guide.md:6: `gatehouse.shared.errors.Missing`",
        "docs/guide.md:6: `gatehouse.shared.nothing`",
        "docs/guide.md:7: `shared/gone.py`",
    ]


def test_urls_placeholders_globs_api_paths_and_code_blocks_are_not_paths(repo: Path) -> None:
    write_doc(
        repo,
        "`POST /api/v1/auth/login`, [API](/api/v1/me), [site](https://example.com/docs/x.md),\n"
        "[mail](mailto:a@example.com), [here](#errors), `https://gatehouse.dev/problems/<code>`,\n"
        "`src/gatehouse/modules/<name>/`, `docs/adr/NNNN-title.md`, `docs/adr/YYYY.md`,\n"
        "`gatehouse.modules.*.application.public`, `tests/**/*.py`, `src/…`,\n"
        "`settings.py`, `gatehouse keys rotate`, `application/json`, `secrets/`.\n"
        "```\nsrc/gatehouse/not/checked.py `src/gatehouse/nor/this.py`\n```\n",
    )
    assert missing_paths(repo) == []


def test_link_targets_resolve_against_the_document_and_code_paths_against_the_root(
    repo: Path,
) -> None:
    write_doc(repo, "[first](0001-first.md) and `docs/adr/0001-first.md`", "docs/adr/0002-x.md")
    write_doc(repo, "[first](0001-first.md) and `adr/0001-first.md`")
    assert [str(r) for r in missing_paths(repo)] == ["docs/guide.md:1: (0001-first.md)"]
