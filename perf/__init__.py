"""Load tests and the benchmark against PaddleX (see perf/README.md)."""
