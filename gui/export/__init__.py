"""Exports: charts as PNG/SVG/CSV/clipboard and animations (charts), and the window's Export menu (actions)."""
