"""An import file's text, a line at a time, from a binary stream (an upload's spooled file).

Reading line by line keeps one copy of the file in memory (the entries made of it) instead of
the bytes, the decoded text and its list of lines at once. Lines end at CR LF, LF or a lone
CR and nowhere else: ``str.splitlines`` also breaks at U+2028, U+0085, vertical tab, form feed
and U+001C..U+001E, which a note may hold and our own vCard export writes as they are.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from transfer.entry import MalformedFile

# A lone CR ends a line too (files from classic Mac OS); split after one not followed by LF.
_LONE_CR = re.compile("(?<=\r)(?!\n)")


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield the stream's lines as text, each with its line ending; MalformedFile if not UTF-8."""
    number = 0
    for raw in stream:
        if number == 0:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A UTF-8 sequence never holds the byte of CR, so lines before it are whole.
            line = number + raw[: exc.start].count(b"\r") - raw[: exc.start].count(b"\r\n") + 1
            raise MalformedFile(
                line, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8 text"
            ) from None
        cr = text.find("\r")
        if cr == -1 or cr == len(text) - 2 == text.find("\n") - 1:
            # No CR, or only the one of a CR LF ending: the usual line, one line.
            number += 1
            yield text
        else:
            for part in _LONE_CR.split(text):
                if part:
                    number += 1
                    yield part


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``read_lines`` splits them (for text already in memory)."""
    return read_lines(io.BytesIO(text.encode()))


def strip_ending(line: str) -> str:
    """The line without its CR LF, LF or CR (a line holds no other CR or LF)."""
    return line.rstrip("\r\n")
