"""The interface every distribution view kind implements, and the header row they share."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from gui.cache import RunCache
from gui.views.base import ElidedLabel, Table, header_layout


class KindView(QWidget):
    """Draws one generation of a run for one view kind (hist1d, hist2d, rank, text, images, regression).

    The dispatcher (`DistributionView`) calls `set_run` when the current run changes, `show_generation`
    on every scrub (the fast path: only per-generation items change), and `refresh` when the run grew.
    """

    kind = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache: RunCache | None = None
        self.run = None
        self.generation = -1
        self.notice = ""  # shown before the info text (e.g. "generation 300 is not computed yet")
        self._info_text = ""
        self.body, self.header = header_layout(self)
        self.info = ElidedLabel()

    def finish_header(self) -> None:
        """Call after adding controls: the info text takes the rest of the row."""
        self.header.addWidget(self.info, 1)

    # ---- the interface ------------------------------------------------------------------------------------
    def set_run(self, cache: RunCache, run) -> None:  # noqa: ANN001 (RunInfo)
        self.cache, self.run, self.generation = cache, run, -1

    def show_generation(self, k: int) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """The run has new generations (fixed axes may need to widen)."""

    def export_target(self) -> QWidget:
        """The widget an export renders: the view's chart (`self.plot`) when it has one, else the whole view."""
        plot = getattr(self, "plot", None)
        return plot if plot is not None else self

    def table(self) -> Table:
        return [], []

    def set_info(self, text: str | None = None) -> None:
        """Set the info line (None: re-render the last text with the current `notice` in front)."""
        if text is not None:
            self._info_text = text
        full = f"{self.notice} {self._info_text}" if self.notice else self._info_text
        self.info.set_full_text(full)
