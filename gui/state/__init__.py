"""The window's state model (no widgets): the project, runs, selection, generation, playback and run queue."""

from gui.state.playback import Playback
from gui.state.run_queue import RunEnd, RunQueue
from gui.state.window_state import WindowState

__all__ = ["Playback", "RunEnd", "RunQueue", "WindowState"]
