"""Reading the Lua data files Prosody's ``internal`` storage writes (``return { ... };``).

Prosody serialises each store (a user's roster: ``data/<host>/roster/<user>.dat``) as one Lua
table literal of strings, numbers, booleans and tables. This reads exactly that subset, so the
lab panel can see friendships without a client and whether the server runs or not.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.|\\\n)*")
    | (?P<number>-?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[{}\[\]=;,])
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(\d{1,3}|.|\n)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\n": "\n"}


class LuaDataError(ValueError):
    """The text is not a Lua table literal of the kind Prosody writes."""


def loads(text: str) -> Any:
    """The value of ``return <literal>`` (or a bare literal): tables become dicts, or lists when 1..n keyed."""
    tokens = _tokens(text)
    if tokens and tokens[0] == ("name", "return"):
        tokens.pop(0)
    value, rest = _value(tokens, 0)
    if rest < len(tokens) and tokens[rest] != ("punct", ";"):
        raise LuaDataError(f"unexpected {tokens[rest][1]!r} after the value")
    return value


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise LuaDataError(f"cannot read Lua data at character {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _value(tokens: list[tuple[str, str]], i: int) -> tuple[Any, int]:
    if i >= len(tokens):
        raise LuaDataError("the data ends before a value")
    kind, text = tokens[i]
    if kind == "string":
        return _string(text), i + 1
    if kind == "number":
        return (int(text, 0) if re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)", text) else float(text)), i + 1
    if kind == "name" and text in ("true", "false", "nil"):
        return {"true": True, "false": False, "nil": None}[text], i + 1
    if text == "{":
        return _table(tokens, i + 1)
    raise LuaDataError(f"unexpected {text!r}")


def _table(tokens: list[tuple[str, str]], i: int) -> tuple[Any, int]:
    table: dict[Any, Any] = {}
    index = 1
    while True:
        if i >= len(tokens):
            raise LuaDataError("a table is not closed")
        if tokens[i][1] == "}":
            break
        if tokens[i][1] == "[":
            key, i = _value(tokens, i + 1)
            i = _expect(tokens, _expect(tokens, i, "]"), "=")
            table[key], i = _value(tokens, i)
        elif tokens[i][0] == "name" and i + 1 < len(tokens) and tokens[i + 1][1] == "=":
            table[tokens[i][1]], i = _value(tokens, i + 2)
        else:
            table[index], i = _value(tokens, i)
            index += 1
        if i < len(tokens) and tokens[i][1] in (",", ";"):
            i += 1
    if table and list(table) == list(range(1, len(table) + 1)):
        return [table[k] for k in range(1, len(table) + 1)], i + 1
    return table, i + 1


def _expect(tokens: list[tuple[str, str]], i: int, text: str) -> int:
    if i >= len(tokens) or tokens[i][1] != text:
        raise LuaDataError(f"expected {text!r}")
    return i + 1


def _string(literal: str) -> str:
    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code)) if code.isdigit() else _SIMPLE.get(code, code)

    # Prosody writes strings with %q: UTF-8 as it is, control characters as \ddd.
    return _ESCAPE.sub(unescape, literal[1:-1])
