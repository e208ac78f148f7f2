"""Benchmarks of voucherd (not tests): ``python -m bench [--quick]`` from the repository root.

Needs only a PostgreSQL server on 127.0.0.1:5432 (user ``postgres``, trust auth). The run creates
and finally drops its own database ``bench_voucherd``, starts ``voucherd serve`` and a minimal
comparison app on free local ports, prints one line per figure and writes the same text to
``bench/results/latest.txt``.
"""
