"""The centre of the window: the generation panel (distribution, drift heatmap, timelines) when the project
has runs, else a page saying what to do; bound to the state model.

A component of the main window: it is handed the state model and owns the centre's widgets. The views get
their data from the state's cache; this binding only tells them which runs and which generation to show.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from gui.icons import icon
from gui.panels.generation_panel import GenerationPanel
from gui.state.window_state import WindowState


class Centre(QObject):
    """The stacked centre (empty page or generation panel) and its binding to the state."""

    def __init__(self, state: WindowState, parent: QWidget) -> None:
        super().__init__(parent)
        self.state = state
        self.generation_panel = GenerationPanel()
        self.generation_panel.setObjectName("generation_panel")
        self.empty_page = QWidget()
        self.empty_page.setObjectName("empty_page")
        self.empty_title = QLabel()
        self.empty_title.setObjectName("empty_title")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title.setWordWrap(True)
        font = self.empty_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.empty_title.setFont(font)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("empty_text")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        self.empty_new = QPushButton(icon("new"), "New Project...")
        self.empty_new.setToolTip("Create a new, empty project file")
        self.empty_open = QPushButton(icon("open"), "Open Project...")
        self.empty_open.setToolTip("Open an existing .collapse project")
        self.empty_demo = QPushButton(icon("collapse-lab"), "Open the Demo")
        self.empty_demo.setToolTip("Open the built-in demo project (a pure refit beside a run mixed with real data)")
        row = QHBoxLayout()
        row.addStretch(1)
        for b in (self.empty_new, self.empty_open, self.empty_demo):
            row.addWidget(b)
        row.addStretch(1)
        lay = QVBoxLayout(self.empty_page)
        lay.addStretch(2)
        lay.addWidget(self.empty_title)
        lay.addWidget(self.empty_text)
        lay.addSpacing(12)
        lay.addLayout(row)
        lay.addStretch(3)
        self.widget = QStackedWidget()
        self.widget.addWidget(self.empty_page)
        self.widget.addWidget(self.generation_panel)

        self.generation_panel.generation_picked.connect(state.playback.go_to)
        state.project_changed.connect(self._on_project_changed)
        state.runs_changed.connect(self._on_runs_changed)
        state.selection_changed.connect(self._on_selection)
        state.run_updated.connect(self._on_run_updated)
        state.playback.generation_changed.connect(self._on_generation)
        self._on_project_changed()

    def _on_project_changed(self) -> None:
        self.generation_panel.set_cache(self.state.cache)
        self.generation_panel.set_runs(None, [])
        if self.state.project is None:
            self.empty_title.setText("No project open")
            self.empty_text.setText("Create a new project, open one (or drop a .collapse file here), or look at the "
                                    "demo to see model collapse happen.")
        else:
            self.empty_title.setText("No runs yet")
            self.empty_text.setText("Choose a scenario and a policy in Run setup on the right and press Start. Each "
                                    "generation appears here as soon as it is computed.")
        self._on_runs_changed()

    def _on_runs_changed(self) -> None:
        self.widget.setCurrentWidget(self.generation_panel if self.state.runs else self.empty_page)

    def _on_selection(self) -> None:
        self.generation_panel.set_runs(self.state.current, self.state.selected)

    def _on_run_updated(self, run_id: int) -> None:
        if any(r.id == run_id for r in self.state.selected):
            self.generation_panel.refresh(run_id)  # coalesced by the panel

    def _on_generation(self, generation: int) -> None:
        self.generation_panel.flush_if_cheap()  # the views have generation k before they are asked for it
        self.generation_panel.set_generation(generation)
