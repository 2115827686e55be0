"""The window's docked panels and the centre panel: widgets handed their data, never reading the file."""
