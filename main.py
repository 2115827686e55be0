"""Collapse Lab entry point: no arguments opens the app; subcommands run headless (see README)."""

from __future__ import annotations

import sys

from core.cli import GuiHooks, main


def _open_app(path: str | None) -> int:
    from gui.app import run_app

    return run_app(path)


def _export_chart(project, runs, chart, path, size) -> None:  # type: ignore[no-untyped-def]
    from gui.chart_export import export_chart_file

    export_chart_file(project, runs, chart, path, size)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], GuiHooks(open_app=_open_app, export_chart=_export_chart)))
