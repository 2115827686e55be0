"""The window's state model (no widgets): the project, runs, selection, generation, playback and run queue.

Import from the modules: `gui.state.window_state` (WindowState), `gui.state.playback` (Playback),
`gui.state.run_queue` (RunQueue, RunEnd). This package imports nothing, so its modules never reach themselves
through it."""
