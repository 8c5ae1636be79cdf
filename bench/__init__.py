"""Gatehouse benchmarks: ``make bench`` runs ``bench/run.py`` (see ``bench/README.md``)."""
