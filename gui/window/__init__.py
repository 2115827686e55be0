"""The main window and the components it is built from (each given the window state model)."""
