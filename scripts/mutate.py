#!/usr/bin/env python3
"""Mutation testing on one module: which small breakages of the code do the tests not notice?

Python (mutmut 2.x, installed with pip when missing)::

    scripts/mutate.py python/mmcore/feeds/feed.py \\
        --functions Feed._backoff_delay,Feed._open_with_backoff,Feed._housekeeping \\
        --tests tests/feeds/test_feed_reconnect.py

mutates only the lines of the named functions (``Class.method`` or ``function``) and of
``--lines 360-366`` ranges (with neither, the whole module: slow on a 2-core machine, a full
feed module is hundreds of mutants x the test time), runs ``--tests`` with pytest against
each mutant (``PYTHONPATH=python``), and lists the mutants that survived (the tests still passed) as
diffs. Restricting works through mutmut's ``--use-patch-file``: a patch that marks the
functions' lines as added, so only they are mutated.

Rust (cargo-mutants, installed with ``cargo install cargo-mutants`` when missing)::

    scripts/mutate.py --rust rust/orders/book.rs

runs ``cargo mutants --file <file>`` and prints the surviving ("missed") mutants.

mutmut edits the file it mutates, so it runs in a scratch copy of the checkout (removed
afterwards, with mutmut's cache): the working tree stays usable meanwhile.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def function_lines(source: str, names: list[str]) -> list[tuple[int, int]]:
    """(first, last) line of each ``Class.method`` / ``function`` in ``source``."""
    tree = ast.parse(source)
    found: dict[str, tuple[int, int]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                found[prefix + node.name] = (node.lineno, node.end_lineno)
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"mutate: no function {', '.join(missing)} (known: {sorted(found)})")
    return [found[n] for n in names]


def patch_for(path: str, source: str, spans: list[tuple[int, int]]) -> str:
    """A unified diff that marks the lines in ``spans`` as added (what mutmut will mutate)."""
    lines = source.splitlines()
    out = [f"--- a/{path}", f"+++ b/{path}"]
    for first, last in sorted(spans):
        out.append(f"@@ -{first - 1},0 +{first},{last - first + 1} @@")
        out += ["+" + line for line in lines[first - 1 : last]]
    return "\n".join(out) + "\n"


def ensure(module: str, requirement: str) -> None:
    if importlib.util.find_spec(module) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", requirement], check=True)


def scratch_copy(dest: Path) -> Path:
    """A copy of the checkout (without ``target/`` and ``.git``) for mutmut to edit, so the
    working tree stays usable (and intact if the run is interrupted)."""
    ignore = shutil.ignore_patterns("target", ".git", ".mutmut-cache", "__pycache__", "runs")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def run_python(args: argparse.Namespace) -> int:
    ensure("mutmut", "mutmut>=2.5,<3")
    ensure("whatthepatch", "whatthepatch")
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        return _run_python(args, scratch_copy(Path(tmp) / "repo"))


def _run_python(args: argparse.Namespace, root: Path) -> int:
    module = args.module
    source = (root / module).read_text()
    env = dict(os.environ, PYTHONPATH=str(root / "python"))
    runner = f"{shlex.quote(sys.executable)} -m pytest -x -q -p no:cacheprovider " + " ".join(
        shlex.quote(t) for t in args.tests
    )
    cmd = ["mutmut", "run", "--paths-to-mutate", module, "--runner", runner, "--no-progress"]
    cmd += ["--tests-dir", "tests"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.functions or args.lines:
            spans = function_lines(source, args.functions.split(",")) if args.functions else []
            for span in args.lines or []:
                first, _, last = span.partition("-")
                spans.append((int(first), int(last or first)))
            patch = Path(tmp) / "functions.patch"
            patch.write_text(patch_for(module, source, spans))
            cmd += ["--use-patch-file", str(patch)]
        print("mutate:", shlex.join(cmd), flush=True)
        subprocess.run(cmd, cwd=root, env=env, check=False)  # exit code: survivors found
    results = subprocess.run(
        ["mutmut", "results"], cwd=root, env=env, capture_output=True, text=True, check=False
    ).stdout
    print(results)
    ids = subprocess.run(
        ["mutmut", "result-ids", "survived"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for mutant in ids:
        print(f"--- surviving mutant {mutant}\n{_show(root, mutant, env)}")
    if args.attribute:
        attribute(root, module, runner, env)
    print(f"mutate: {len(ids)} surviving mutant(s)")
    return 1 if ids else 0


def _show(root: Path, mutant: str, env: dict[str, str]) -> str:
    return subprocess.run(
        ["mutmut", "show", mutant], cwd=root, env=env, capture_output=True, text=True, check=False
    ).stdout


def attribute(root: Path, module: str, runner: str, env: dict[str, str]) -> None:
    """For every killed mutant: its changed line and the tests that fail on it (the tests are
    run again, without ``-x``, on the mutant applied to disk; the file is restored after)."""
    killed = []
    for status in ("killed", "suspicious", "timeout"):
        killed += subprocess.run(
            ["mutmut", "result-ids", status],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
    original = (root / module).read_text()
    command = runner.replace(" -x ", " -rf ")
    try:
        for mutant in sorted(killed, key=int):
            change = [
                line
                for line in _show(root, mutant, env).splitlines()
                if line[:1] in "+-" and line[:3] not in ("+++", "---")
            ]
            subprocess.run(["mutmut", "apply", mutant], cwd=root, env=env, check=True)
            try:
                out = subprocess.run(
                    shlex.split(command),
                    cwd=root,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                ).stdout
            except subprocess.TimeoutExpired:
                out = ""
            (root / module).write_text(original)
            failed = [line.split()[1] for line in out.splitlines() if line.startswith("FAILED")]
            print(f"mutant {mutant}: {' | '.join(change)}\n    caught by: {failed or 'TIMEOUT'}")
    finally:
        (root / module).write_text(original)


def run_rust(args: argparse.Namespace) -> int:
    if shutil.which("cargo-mutants") is None:
        subprocess.run(["cargo", "install", "cargo-mutants"], check=True)
    cmd = ["cargo", "mutants", "--file", args.module, "--no-shuffle"]
    print("mutate:", shlex.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=False)
    missed = ROOT / "mutants.out" / "missed.txt"
    text = missed.read_text() if missed.exists() else ""
    print("surviving (missed) mutants:\n" + (text or "none"))
    return 1 if text.strip() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="the file to mutate, relative to the repository root")
    parser.add_argument("--functions", help="comma-separated Class.method / function names")
    parser.add_argument(
        "--tests", nargs="+", default=["tests"], help="pytest paths that must catch the mutants"
    )
    parser.add_argument(
        "--lines", nargs="+", help="line ranges to mutate too, e.g. 360-366 (with --functions)"
    )
    parser.add_argument("--rust", action="store_true", help="cargo-mutants on a Rust file")
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="then name, for every killed mutant, the tests that fail on it (slower)",
    )
    args = parser.parse_args()
    return run_rust(args) if args.rust else run_python(args)


if __name__ == "__main__":
    sys.exit(main())
