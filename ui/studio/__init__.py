"""The writing studio (Gradio): one module per tab plus the engine they share.

    from ui.studio.app import build_app, launch        # the Gradio app
    from ui.studio.engine import StudioEngine          # record, writer, model queue

``app`` only wires components to the plain functions of the tab modules (``books``, ``bible``,
``outline``, ``drafting``, ``classroom``, ``train``, ``export``, ``feedback``, ``panel``),
which the tests call directly; ``render`` builds the few escaped HTML pieces; ``cli`` is the
``scriptorium studio`` command. Nothing heavy is imported here.
"""
