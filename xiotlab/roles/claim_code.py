"""A thing's claim code: its ``iotdisco:`` claim URI as a QR code, to print on it or show in a notebook.

Whoever scans (or pastes) the code can claim the thing in the registry: the
URI carries the thing's tags and its secret KEY. Made with segno (pure
Python, SVG and PNG without an imaging library).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import segno


class ClaimCode:
    """The QR code of ``uri``: shows itself in a notebook; :meth:`save` writes PNG or SVG.

    >>> code = thing.claim_qr()                 # doctest: +SKIP
    >>> code.save("thermometer.png")            # or .svg; a label printer takes either
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._qr = segno.make(uri, error="m")

    @property
    def version(self) -> int:
        """The QR code's version (its size: 1 is 21×21 modules; more tags need a larger code)."""
        return int(self._qr.version)  # an int for QR codes (micro codes, which we never make, say "M3")

    def svg(self, scale: int = 4) -> str:
        """The code as SVG text (``scale``: pixels per module)."""
        return self._qr.svg_inline(scale=scale)

    def save(self, path: str | os.PathLike, scale: int = 8) -> Path:
        """Write the code to ``path``; the suffix chooses the format (``.png``, ``.svg``, ``.pdf``, ``.eps``)."""
        path = Path(path)
        if path.suffix.lower() not in (".png", ".svg", ".pdf", ".eps"):
            raise ValueError(f"{path.name}: save a claim code as .png, .svg, .pdf or .eps.")
        self._qr.save(str(path), scale=scale)
        return path

    def terminal(self) -> str:
        """The code drawn with text blocks, for a terminal."""
        import io

        buffer = io.StringIO()
        self._qr.terminal(out=buffer, compact=True)
        return buffer.getvalue()

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return (
            f"<figure style='display:inline-block;margin:0'>{self.svg()}"
            f"<figcaption style='font-family:monospace;font-size:80%;word-break:break-all;max-width:24em'>"
            f"{html.escape(self.uri)}</figcaption></figure>"
        )

    def __repr__(self) -> str:
        return f"<ClaimCode {self.uri}>"
