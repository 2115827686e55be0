"""Collapse Lab core: Qt-free engine, project store, export. The GUI and the CLI are both clients of it."""

__version__ = "0.4.0"
