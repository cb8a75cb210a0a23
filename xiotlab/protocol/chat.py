"""What a person types to a thing in a chat client, and the plain-text lines it answers.

Pure text, no network: :func:`parse_command` reads one message body into a
command, the ``format_*`` functions write answers short enough for a
terminal client (``temperature: 21.5 °C (momentary, 14:02:03 UTC)``), and
every error line says what to type instead.

Answers carry an ``<answer/>`` marker in :data:`XIOTLAB_CHAT`: a thing never
answers a message that carries it, so two things chatting cannot keep each
other busy forever ("unknown command" answered by "unknown command"...).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .parameters import ControlParameter, summary, to_lexical
from .values import UTC, Field, ReadoutError, format_value

XIOTLAB_CHAT = "urn:xiotlab:chat:1"
ANSWER = f"{{{XIOTLAB_CHAT}}}answer"
# A command is a line; anything longer is not one, and is not worth reading through.
MAX_COMMAND = 1000


@dataclass(frozen=True)
class Help:
    """``help``: what can be typed, with the thing's fields and controls."""


@dataclass(frozen=True)
class Read:
    """``read [FIELD ...]``: current values, of every field when none is named."""

    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Set:
    """``set NAME=VALUE [NAME=VALUE ...]``: values as typed, checked by the thing's control form."""

    values: tuple[tuple[str, str], ...]


Command = Help | Read | Set


class ChatError(ValueError):
    """A message that is not a command; the text is the answer to send back."""


_WORDS = {"help": Help, "h": Help, "?": Help, "hi": Help, "hello": Help, "read": Read, "r": Read, "set": Set, "s": Set}
_AROUND_EQUALS = re.compile(r"\s*=\s*")


def parse_command(text: str) -> Command:
    """The command in a message body; raises :class:`ChatError` with the line to answer."""
    text = text.strip()
    if len(text) > MAX_COMMAND:
        raise ChatError(f"that is too long for a command ({len(text)} characters); type help")
    word, _, rest = text.partition(" ")
    kind = _WORDS.get(word.lower())
    if kind is None:
        raise ChatError(f"unknown command {_quote(word)}; type help")
    if kind is Help:
        return Help()
    if kind is Read:
        return Read(tuple(dict.fromkeys(name for name in re.split(r"[\s,]+", rest) if name)))  # once each
    return Set(_assignments(rest))


def _assignments(text: str) -> tuple[tuple[str, str], ...]:
    # "a = 1" reads as "a=1"; quotes keep spaces in a value: set label="living room"
    try:
        tokens = shlex.split(_AROUND_EQUALS.sub("=", text.strip()))
    except ValueError:
        raise ChatError('a quote is not closed; type set NAME=VALUE, or set NAME="a value with spaces"') from None
    if not tokens:
        raise ChatError("set what? type set NAME=VALUE")
    values = []
    for token in tokens:
        name, equals, value = token.partition("=")
        if not equals or not name:
            raise ChatError(f"{_quote(token)} is not NAME=VALUE; type set NAME=VALUE")
        values.append((name, value))
    return tuple(values)


# --- answers --------------------------------------------------------------------


def format_help(thing: str, fields: Sequence[str], parameters: Iterable[ControlParameter]) -> str:
    lines = [
        f"{thing} answers:",
        "  read              every current value",
        "  read FIELD ...    some of them",
        "  set NAME=VALUE    change a control (the owner's rules apply)",
        "  help              this list",
        f"fields: {', '.join(fields) or '(none)'}",
    ]
    controls = [summary(p) for p in parameters]
    lines.append("controls:" + "".join(f"\n  {line}" for line in controls) if controls else "controls: (none)")
    return "\n".join(lines)


def format_field(field: Field, today: dt.date | None = None) -> str:
    """``name: value unit (categories, time)``; the date shows only when it is not ``today`` (UTC)."""
    value = format_value(field.type, field.value, field.decimals)
    if field.unit:
        value = f"{value} {field.unit}"
    when = field.timestamp.astimezone(UTC)
    today = today or dt.datetime.now(UTC).date()
    stamp = f"{when:%H:%M:%S} UTC" if when.date() == today else f"{when:%Y-%m-%d %H:%M:%S} UTC"
    labels = [(member.name or "").lower() for member in field.categories]
    return f"{field.name}: {value} ({', '.join([*labels, stamp])})"


def format_readout(
    fields: Sequence[Field], errors: Iterable[ReadoutError], wanted: Sequence[str], today: dt.date | None = None
) -> str:
    """One line per field read, ``name: no value yet`` for a wanted field without one, then the errors."""
    got = {f.name for f in fields}
    lines = [format_field(f, today) for f in fields]
    lines += [f"{name}: no value yet" for name in wanted if name not in got]
    lines += [f"error: {e.message}" for e in errors]
    return "\n".join(lines) or "no values yet"


def format_set(parameters: Iterable[ControlParameter]) -> str:
    """``done: name = value, ...`` with the values the thing now holds."""
    return "done: " + ", ".join(f"{p.name} = {to_lexical(p.type, p.value)}" for p in parameters)


def unknown(kind: str, name: str, known: Sequence[str]) -> str:
    """``unknown field 'temprature' (did you mean 'temperature'?); fields: temperature, humidity``."""
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" (did you mean {_quote(close[0])}?)" if close else ""
    return f"unknown {kind} {_quote(name)}{guess}; {kind}s: {', '.join(known) or '(none)'}"


def answer_marker() -> ET.Element:
    """The element that marks a message as a thing's answer (see the module's note)."""
    return ET.Element(ANSWER)


def _quote(text: str, limit: int = 40) -> str:
    # Echoed text is the sender's own, but a short, quoted echo keeps a line a line.
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
