"""The repository's docs are self-contained: no pointer to notes outside the repository, every
relative link and anchor in README.md and docs/*.md resolves, and the files and tests they name exist.
"""

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Background notes that lived beside the repository, never in it (spelled in pieces so that this
# file does not match itself).
_OUTSIDE_NOTES = tuple(name + ".md" for name in ("FACTS", "REFERENCE", "STYLE"))
_TEXT_SUFFIXES = (".py", ".md", ".sh", ".txt", ".cfg", ".toml", ".ini", ".yaml", ".yml", ".json")


def _repo_files():
    """Tracked and untracked-but-not-ignored files, relative to ROOT."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
        files = [f for f in out.splitlines() if os.path.isfile(os.path.join(ROOT, f))]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an sdist)
        files = []
        for dirpath, dirnames, filenames in os.walk(ROOT):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("runs",)]
            files += [os.path.relpath(os.path.join(dirpath, f), ROOT) for f in filenames]
    extra = [".ci/run"] if os.path.isfile(os.path.join(ROOT, ".ci/run")) else []
    return sorted(set(files + extra))


def _docs():
    docs_dir = os.path.join(ROOT, "docs")
    names = ["README.md"] + [
        os.path.join("docs", f) for f in sorted(os.listdir(docs_dir)) if f.endswith(".md")
    ]
    return [n for n in names if os.path.isfile(os.path.join(ROOT, n))]


def _strip_code_blocks(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _slug(heading):
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path):
    text = _strip_code_blocks(open(os.path.join(ROOT, path), encoding="utf-8").read())
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M)}


def test_no_file_points_to_notes_outside_the_repository():
    offenders = []
    for rel in _repo_files():
        if not rel.endswith(_TEXT_SUFFIXES) and rel not in (".ci/run", ".gitignore"):
            continue
        try:
            text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(name in line for name in _OUTSIDE_NOTES):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, (
        "these lines cite notes that are not in the repository; point to docs/references.md, "
        "docs/upstream_issues.md or the paper instead:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize("doc", _docs())
def test_relative_links_and_anchors_resolve(doc):
    text = _strip_code_blocks(open(os.path.join(ROOT, doc), encoding="utf-8").read())
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(doc), path)) if path else (
            os.path.join(ROOT, doc)
        )
        if not os.path.exists(resolved):
            broken.append(f"{target}: no file {os.path.relpath(resolved, ROOT)}")
        elif anchor and resolved.endswith(".md") and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{doc}:\n" + "\n".join(broken)


# Repository paths written in backticks (`configs/ring8.py`, `scripts/reproduce_mixtures.sh`).
_PATH_IN_TICKS = re.compile(
    r"`((?:configs|scripts|tests|tfgan_orig|benchmarks|docs|export)/[\w./-]+\.(?:py|sh|md|png|json|config))`"
)
# Tests named as `tests/test_x.py::test_name` (or `test_x.py::test_name`).
_TEST_REF = re.compile(r"(?:tests/)?(test_\w+\.py)::(test_\w+)")


@pytest.mark.parametrize("doc", _docs())
def test_files_and_tests_named_in_the_docs_exist(doc):
    text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
    missing = [p for p in sorted(set(_PATH_IN_TICKS.findall(text)))
               if not os.path.exists(os.path.join(ROOT, p))]
    for path, name in sorted(set(_TEST_REF.findall(text))):
        full = os.path.join(ROOT, "tests", path)
        if not os.path.exists(full) or not re.search(
            rf"^\s*def {name}\(", open(full, encoding="utf-8").read(), flags=re.M
        ):
            missing.append(f"tests/{path}::{name}")
    # Bare names: `test_name` (a test anywhere in tests/) and `test_x.py` (a test file).
    all_tests = "\n".join(
        open(os.path.join(ROOT, "tests", f), encoding="utf-8").read()
        for f in os.listdir(os.path.join(ROOT, "tests")) if f.endswith(".py")
    )
    for name in sorted(set(re.findall(r"`(test_\w+)(?:\[[^\]`]*\])?`", text))):
        if not re.search(rf"^\s*def {name}\(", all_tests, flags=re.M):
            missing.append(name)
    for name in sorted(set(re.findall(r"`(?:tests/)?(test_\w+\.py)`", text))):
        if not os.path.exists(os.path.join(ROOT, "tests", name)):
            missing.append(f"tests/{name}")
    assert not missing, f"{doc} names what does not exist:\n" + "\n".join(missing)
