"""Spec Review domain logic: spec model, store, decisions and audit (never imports Qt)."""

__version__ = "0.1.0"
