"""Command line: `python -m mmcore [command]`.

Without a command it runs the demo: the whole system on the embedded simulated market."""

from __future__ import annotations

import argparse
import sys

from mmcore import capture_demo, cli_backtest, cli_record, cli_run, cli_sweep, demo


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m mmcore",
        description="mmcore: a crypto market-making engine with a Rust core.",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    sim = sub.add_parser(
        "demo", help="trade the embedded simulated market with a live dashboard (default)"
    )
    demo.add_arguments(sim)
    sim.set_defaults(func=demo.run)
    capture = sub.add_parser(
        "capture", help="replay the bundled real Binance capture through the book"
    )
    capture_demo.add_arguments(capture)
    capture.set_defaults(func=capture_demo.run)
    cli_record.add_parser(sub)
    cli_run.add_parser(sub)
    cli_backtest.add_parser(sub)
    cli_sweep.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "demo")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0


if __name__ == "__main__":
    sys.exit(main())
