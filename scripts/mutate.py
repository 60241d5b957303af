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

mutmut edits the file in place while it runs and restores it at the end; do not edit the
module meanwhile, and check ``git status`` if a run is interrupted. Its cache
(``.mutmut-cache``) is removed after the listing.
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


def run_python(args: argparse.Namespace) -> int:
    ensure("mutmut", "mutmut>=2.5,<3")
    ensure("whatthepatch", "whatthepatch")
    module = args.module
    source = (ROOT / module).read_text()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
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
        subprocess.run(cmd, cwd=ROOT, env=env, check=False)  # exit code: survivors found
    results = subprocess.run(
        ["mutmut", "results"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    ).stdout
    print(results)
    ids = subprocess.run(
        ["mutmut", "result-ids", "survived"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for mutant in ids:
        print(f"--- surviving mutant {mutant}\n{_show(mutant, env)}")
    if args.attribute:
        attribute(module, runner, env)
    if not args.keep_cache:
        (ROOT / ".mutmut-cache").unlink(missing_ok=True)
    print(f"mutate: {len(ids)} surviving mutant(s)")
    return 1 if ids else 0


def _show(mutant: str, env: dict[str, str]) -> str:
    return subprocess.run(
        ["mutmut", "show", mutant], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    ).stdout


def attribute(module: str, runner: str, env: dict[str, str]) -> None:
    """For every killed mutant: its changed line and the tests that fail on it (the tests are
    run again, without ``-x``, on the mutant applied to disk; the file is restored after)."""
    killed = []
    for status in ("killed", "suspicious", "timeout"):
        killed += subprocess.run(
            ["mutmut", "result-ids", status],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
    original = (ROOT / module).read_text()
    command = runner.replace(" -x ", " -rf ")
    try:
        for mutant in sorted(killed, key=int):
            change = [
                line
                for line in _show(mutant, env).splitlines()
                if line[:1] in "+-" and line[:3] not in ("+++", "---")
            ]
            subprocess.run(["mutmut", "apply", mutant], cwd=ROOT, env=env, check=True)
            try:
                out = subprocess.run(
                    shlex.split(command),
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                ).stdout
            except subprocess.TimeoutExpired:
                out = ""
            (ROOT / module).write_text(original)
            failed = [line.split()[1] for line in out.splitlines() if line.startswith("FAILED")]
            print(f"mutant {mutant}: {' | '.join(change)}\n    caught by: {failed or 'TIMEOUT'}")
    finally:
        (ROOT / module).write_text(original)


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
    parser.add_argument("--keep-cache", action="store_true", help="keep .mutmut-cache")
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="then name, for every killed mutant, the tests that fail on it (slower)",
    )
    args = parser.parse_args()
    return run_rust(args) if args.rust else run_python(args)


if __name__ == "__main__":
    sys.exit(main())
