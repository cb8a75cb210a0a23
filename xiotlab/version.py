"""The package's version, in a module of its own so that every layer may name it without a cycle."""

__version__ = "0.1.0"
