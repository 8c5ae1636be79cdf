"""Peers: other projects' documented setups, served as the targets are, in their own venv."""
