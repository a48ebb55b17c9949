"""Spec Review's Qt layer: thin widgets and models over the ``reviewer`` domain package."""
