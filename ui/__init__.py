"""What people touch: the command line (``ui.cli``) and the Gradio studio (``ui.studio``)."""
