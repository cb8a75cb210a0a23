"""Live widgets for notebooks: the roster, live plots, control panels and the protocol inspector.

Each is an ipywidgets box fed by a role's live state (``Roster``, ``Stream``,
``Trace``) and redrawn on the UI thread at a bounded rate (:mod:`.live`).
"""
