"""Seeded synthetic seal images (parity tests and benchmarks): see :mod:`tools.synth.seals`.

Nothing is imported here, so ``python -m tools.synth.seals`` runs the module only once.
"""
