"""Collapse Lab entry point: no arguments opens the app; subcommands run headless (see README)."""

from __future__ import annotations

import signal
import sys


def _open_app(path: str | None) -> int:
    from gui.app import run_app

    return run_app(path)


def _export_chart(project, runs, chart, path, size) -> None:  # type: ignore[no-untyped-def]
    from gui.export.charts import export_chart_file

    export_chart_file(project, runs, chart, path, size)


def _run() -> int:
    try:
        from core.cli import EXIT_INTERRUPTED, GuiHooks, main
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing was opened yet
        print("interrupted", file=sys.stderr)
        return 130
    try:
        return main(sys.argv[1:], GuiHooks(open_app=_open_app, export_chart=_export_chart))
    except KeyboardInterrupt:  # between main's own handlers (it saves and reports the work it was doing)
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        # Everything is saved and closed: a Ctrl-C while Python shuts down (joining threads) is only noise.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(_run())
