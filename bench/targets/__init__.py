"""The servers under test, each started as ``python -m bench.targets.<name> --port N --cpu C``."""
