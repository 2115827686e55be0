"""The views of the generation panel: distribution (one view per scenario kind, small multiples when
comparing), drift heatmap, timelines. Import them from their modules (this package imports nothing, so no
view module reaches itself through it)."""
