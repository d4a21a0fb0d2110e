"""Widgets generated from metadata, shared by the pages; each takes its page's :class:`Keys`.

``controls``  one control per core ``Hyper`` / ``Param`` (sliders, boxes, choices)
``pickers``   a surface and its parameters; optimizers and their hyperparameters
``training``  the course's global controls (shared lr, β, ρ, β₂, batch, steps, seed, schedule)
``start``     start coordinates, a click on the surface, a swarm of starts
``display``   the shared view options (large fonts, dark, presenter) and a page's own
"""
