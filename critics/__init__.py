"""The critic panel: style, lexical, coherence, relevance, fluency and a learned critic score
each story in [0, 1] with a reason; the panel combines them into the reward that teaches the
writer. Light on import: models load when a critic first needs them.

    from critics.panel import Panel, PanelConfig
    results = Panel(PanelConfig(preset="ya")).score(prompts, stories)

See critics/panel.py (the panel and the TRL reward), critics/registry.py (the critics),
critics/calibrate.py (agreement with people) and ``scriptorium score --help``.
"""
