"""Gatehouse: accounts and authentication API."""

__version__ = "0.1.0"
