"""Where the split-credit chain's key and signed heads (anchors) live: no ORM.

- The key is ``settings.ATTRIBUTION_CHAIN_KEY`` (from the environment; never stored in the database,
  never logged: only its fingerprint appears in anchors).
- An anchor is published twice, outside the table: as a structured log line
  (``attribution_anchor {json}``, logger ``routing.attribution.rules``) for the log store, and appended to
  ``settings.ATTRIBUTION_ANCHOR_FILE`` (one JSON line each, ``O_APPEND`` and fsync). A failed file
  write is logged as an error and never fails the write it anchors: the entry is committed already,
  and the next anchor covers it.
- ``read_anchors`` reads anchors back from that file, or from any files given (a copy of the file,
  collected log output, Finance's "signed head" downloads): every line with the anchor marker counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from routing.attribution import rules

logger = logging.getLogger("expansion.attribution")


def chain_key() -> bytes:
    return settings.ATTRIBUTION_CHAIN_KEY.encode("utf-8")


def anchor_file() -> Path:
    return Path(settings.ATTRIBUTION_ANCHOR_FILE)


def publish_anchor(anchor: rules.Anchor) -> None:
    """Log the anchor and append it to the anchor file (see the module docstring)."""
    line = rules.anchor_line(anchor)
    logger.info("attribution_anchor %s", line)
    path = anchor_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        logger.error("attribution anchor not written to %s: %s; the log line above carries it", path, exc)


def read_anchors(paths: Sequence[str | Path] | None = None) -> tuple[list[rules.Anchor], str]:
    """(anchors, where they were looked for). Without ``paths``: the anchor file, which may not exist
    yet. A path that was asked for and is missing, or a marked line that is not an anchor, raises
    AnchorInvalid."""
    if not paths:
        path = anchor_file()
        if not path.exists():
            return [], str(path)
        paths = [path]
    anchors: list[rules.Anchor] = []
    for raw in paths:
        path = Path(raw)
        try:
            with path.open(encoding="utf-8-sig", errors="replace") as lines:
                anchors.extend(rules.parse_anchors(lines, str(path)))
        except OSError as exc:
            raise rules.AnchorInvalid(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return anchors, ", ".join(str(p) for p in paths)
