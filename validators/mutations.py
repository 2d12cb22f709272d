"""Mutations of one line a fix adds: the wrong versions of it a test suite should notice.

Pure text, per language, each mutation keeping the line one line of valid-looking code:

- ``flipped_comparison``: the first comparison operator of the line's code, written with a
  space on both sides (so generics ``Vec<T>``, arrows ``->``/``=>``, shifts and Go's ``<-``
  are never taken), turned into its negation: ``==``/``!=``, ``===``/``!==``, ``<``/``>=``,
  ``>``/``<=``;
- ``flipped_boolean``: the first boolean literal of the code (``True``/``False`` in Python,
  ``true``/``false`` elsewhere) turned into the other;
- ``constant_return``: ``return X`` as ``return None`` (Python) or ``return undefined``
  (JavaScript / TypeScript); not in Go, Rust or Java, where a constant of the right type
  cannot be told from the text, and a wrong one fails to compile, which says nothing of the
  tests;
- ``deleted_line``: the line left out, when it is a whole statement: its brackets balance, it
  opens no block (a Python line ending in ``:``, a line ending in ``{``), closes none, is no
  declaration a later line needs to compile (``func``, ``fn``, ``package``, ``import``,
  ``use``) and, in Rust and Java, ends with ``;``. Whether it is the only statement of a
  Python block is the caller's to tell (``validators.wrong_patches``): it sees the lines
  around it.

The code of a line is what precedes its comment, outside string literals; a line that is a
comment, or in a block comment or docstring, is never mutated (the caller knows the latter).
A mutation that fails to build or collect still counts as caught when it is run: the
tests did not pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core.languages import Language
from pipeline.core.records import WrongPatchKind
from validators.leaks import COMMENT, collapse

COMPARISONS = {"===": "!==", "!==": "===", "==": "!=", "!=": "==", "<=": ">", ">=": "<"}
COMPARISONS |= {"<": ">=", ">": "<="}
COMPARISON = re.compile(r"(?<=\s)(===|!==|==|!=|<=|>=|<|>)(?=\s)")
BOOLEANS = {
    Language.PYTHON: {"True": "False", "False": "True"},
}
LOWER_BOOLEANS = {"true": "false", "false": "true"}
CONSTANT_RETURNS = {
    Language.PYTHON: "None",
    Language.JAVASCRIPT: "undefined",
}
RETURN = re.compile(r"^(?P<indent>\s*)return\s+(?P<value>.+?)(?P<end>;?)\s*$")
LINE_COMMENT = {Language.PYTHON: "#"}  # others: //
STRING_QUOTES = {
    Language.PYTHON: "\"'",
    Language.JAVASCRIPT: "\"'`",
    Language.GO: '"`',  # a rune ('a') holds no comment marker worth the risk
    Language.RUST: '"',  # ' opens a lifetime as often as a char
    Language.JAVA: "\"'",
}
OPENERS = {"(": ")", "[": "]", "{": "}"}
DECLARATIONS = re.compile(
    r"^(?:func|fn|pub|package|import|use|mod|impl|struct|enum|class|interface|case|default"
    r"|else|type|def|async def|from|export|extern)\b"
)
SEMICOLON_STATEMENTS = {Language.RUST, Language.JAVA}


@dataclass(frozen=True)
class LineMutation:
    """One mutation of a line: its kind, the new text (None: the line is deleted) and what
    changed, as a name says it."""

    kind: WrongPatchKind
    text: str | None
    change: str


def code_end(text: str, language: Language) -> int:
    """Where the code of ``text`` ends: at its line comment, outside string literals."""
    quotes = STRING_QUOTES.get(language, "\"'")
    marker = LINE_COMMENT.get(language, "//")
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in quotes:
            quote = char
        elif text.startswith(marker, index):
            return index
        index += 1
    return len(text)


def in_code(text: str, language: Language, start: int) -> bool:
    """Whether position ``start`` of ``text`` is code: before the comment, in no string."""
    return start < code_end(text, language) and not _in_string(text[:start], language)


def _in_string(prefix: str, language: Language) -> bool:
    quotes = STRING_QUOTES.get(language, "\"'")
    quote: str | None = None
    escaped = False
    for char in prefix:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in quotes:
            quote = char
    return quote is not None


def line_mutations(text: str, language: Language) -> list[LineMutation]:
    """The mutations of an added line's ``text`` (without its newline), in kind order."""
    if not text.strip() or COMMENT.match(collapse(text)):
        return []
    found = [
        _flipped_comparison(text, language),
        _flipped_boolean(text, language),
        _constant_return(text, language),
        _deleted(text, language),
    ]
    return [mutation for mutation in found if mutation is not None]


def _flipped_comparison(text: str, language: Language) -> LineMutation | None:
    for match in COMPARISON.finditer(text):
        if in_code(text, language, match.start()):
            old = match.group(1)
            new = COMPARISONS[old]
            changed = text[: match.start()] + new + text[match.end() :]
            return LineMutation(WrongPatchKind.FLIPPED_COMPARISON, changed, f"{old} to {new}")
    return None


def _flipped_boolean(text: str, language: Language) -> LineMutation | None:
    flips = BOOLEANS.get(language, LOWER_BOOLEANS)
    pattern = re.compile(r"\b(" + "|".join(flips) + r")\b")
    for match in pattern.finditer(text):
        if in_code(text, language, match.start()):
            old, new = match.group(1), flips[match.group(1)]
            changed = text[: match.start()] + new + text[match.end() :]
            return LineMutation(WrongPatchKind.FLIPPED_BOOLEAN, changed, f"{old} to {new}")
    return None


def _constant_return(text: str, language: Language) -> LineMutation | None:
    constant = CONSTANT_RETURNS.get(language)
    code = text[: code_end(text, language)].rstrip()
    found = RETURN.match(code)
    if constant is None or found is None or not balanced(code, language):
        return None
    value = found.group("value").strip()
    if value == constant or value.endswith(("\\", ",")):
        return None
    changed = f"{found.group('indent')}return {constant}{found.group('end')}"
    return LineMutation(WrongPatchKind.CONSTANT_RETURN, changed, f"return {constant}")


def _deleted(text: str, language: Language) -> LineMutation | None:
    code = text[: code_end(text, language)].strip()
    if not code or not balanced(code, language) or DECLARATIONS.match(code):
        return None
    if code.endswith(("{", ":", ",", "\\", "(", "[", "=", "+", "&&", "||", "?")):
        return None
    if code.startswith(("}", ")", "]", ".", "@", "&&", "||", "?", "+")):
        return None
    if language in SEMICOLON_STATEMENTS and not code.endswith(";"):
        return None
    return LineMutation(WrongPatchKind.DELETED_LINE, None, "line deleted")


def balanced(code: str, language: Language) -> bool:
    """Whether the brackets of ``code`` (outside strings) close in order, none left open."""
    stack: list[str] = []
    for index, char in enumerate(code):
        if char not in OPENERS and char not in OPENERS.values():
            continue
        if _in_string(code[:index], language):
            continue
        if char in OPENERS:
            stack.append(OPENERS[char])
        elif not stack or stack.pop() != char:
            return False
    return not stack and not _in_string(code, language)


def indent_of(text: str) -> int:
    """The width of a line's leading whitespace (a tab as one column, as Python compares)."""
    return len(text) - len(text.lstrip())
