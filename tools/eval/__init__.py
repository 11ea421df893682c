"""Evaluations anyone can rerun (``make rotation-eval``): see :mod:`tools.eval.rotation`."""
