"""Seal recognition processing library: PaddleX 3.x ``seal_recognition`` stages, Triton-free.

Every algorithm of the pipeline lives here once and is used by the Triton Python steps
(``model_repository/*/1/model.py``), the in-process reference pipeline and the client.
"""
