"""Files that appear whole: another process never reads one half written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def create_whole(path: Path, content: bytes) -> bool:
    """Create ``path`` (owner-only) holding ``content``, unless it exists; ``True`` if created.

    The content goes to a hidden temporary file in the same directory first, which is then
    hard-linked to ``path``: the link either makes the complete file appear at once or fails
    because ``path`` exists (another process won the race, and its file is the one to use).
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp's file is already mode 0600
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True
