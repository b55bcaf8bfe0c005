"""Bolt listeners, one module per kind of request; each module has `register(app, deps)`."""
