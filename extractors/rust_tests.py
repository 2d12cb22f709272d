"""Split Rust tests that live inside source files out of a source file's diff.

Rust keeps unit tests in the file they test: ``#[cfg(test)] mod tests { ... }``. A pull request
that changes such a module and the code above it changes one file on both sides of the split,
so the path rules alone would put the new tests in the fix patch, and the *before* state
would not have them. Such a PR is therefore **split, not dropped**: the lines of the diff that
lie inside an item gated by ``#[cfg(test)]`` (or ``#[cfg(all(test, ...))]``) go to the test
patch, the other lines to the fix patch, hunk by hunk and line by line:

- the test patch, applied to the base, keeps the test lines' changes; a removed source line
  stays as context and an added source line is left out;
- the fix patch, applied after it, keeps the source lines' changes; the test lines it
  would add are already there (context) and those it would remove already gone.

Line numbers are renumbered so that both apply exactly (no offsets, no fuzz). Which lines are
test lines is read from the file's text on each side (the removed lines from the base's blob,
the added ones from the head's), with a small lexer that skips comments, strings, raw strings
and character literals, so a brace in a string does not end a module. A new file is split the
same way (the test patch creates it with its tests only); a deleted file goes whole to the fix
patch. A file whose gated items cannot be delimited (unbalanced braces) is not split: it stays
a source file, as in any other language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
TEST_CFG = re.compile(r"#\s*\[\s*cfg\s*\(\s*(test|all\s*\(\s*(?:[^()]*,\s*)?test\s*[,)])")
INDEX = re.compile(r"^index ([0-9a-f]+)\.\.([0-9a-f]+)", re.MULTILINE)


LEXEME_START = re.compile(r"""//|/\*|["'br]""")
RAW_STRING = re.compile(r'b?r(#*)"')


def cfg_test_lines(text: str) -> set[int] | None:
    """The 1-based numbers of the lines inside ``#[cfg(test)]`` items; None when an item
    cannot be delimited."""
    code = _masked(text)
    lines: set[int] = set()
    for match in TEST_CFG.finditer(code):
        end = _item_end(code, _attribute_end(code, match.start()))
        if end is None:
            return None
        first, last = code.count("\n", 0, match.start()) + 1, code.count("\n", 0, end) + 1
        lines.update(range(first, last + 1))
    return lines


def blob_ids(section: str) -> tuple[str, str] | None:
    """The old and new blob ids of a file's diff (``index OLD..NEW``), if it has them."""
    match = INDEX.search(section.split("\n@@", 1)[0])
    return (match.group(1), match.group(2)) if match else None


@dataclass
class _Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    context: str
    lines: list[str] = field(default_factory=list)


def split_section(section: str, old_tests: set[int], new_tests: set[int]) -> tuple[str, str]:
    """The test part and the fix part of one file's diff (either may be "")."""
    header, hunks = _parse(section)
    if any(line.startswith("deleted file") for line in header):
        return "", section
    test_hunks, fix_hunks = [], []
    test_shift = fix_shift = 0  # line delta of the test hunks, and of the fix hunks, so far
    for hunk in hunks:
        test_part, fix_part = _split_hunk(hunk, old_tests, new_tests)
        first_old = hunk.old_start + (hunk.old_count == 0)
        if test_part is not None:
            test_part.old_start = _start(first_old, test_part.old_count)
            test_part.new_start = _start(first_old + test_shift, test_part.new_count)
            test_hunks.append(test_part)
            test_shift += test_part.new_count - test_part.old_count
        if fix_part is not None:
            first_new = hunk.new_start + (hunk.new_count == 0)
            fix_part.old_start = _start(first_new - fix_shift, fix_part.old_count)
            fix_part.new_start = hunk.new_start
            fix_hunks.append(fix_part)
            fix_shift += fix_part.new_count - fix_part.old_count
    if not fix_hunks:
        return section, ""
    if not test_hunks:
        return "", section
    new_file = any(line.startswith("new file") for line in header)
    test_header = [line for line in header if not line.startswith("index ")]
    fix_header = [line for line in test_header if not line.startswith("new file")]
    if new_file:
        fix_header = [_old_side(line, header) for line in fix_header]
    return _render(test_header, test_hunks), _render(fix_header, fix_hunks)


def _split_hunk(
    hunk: _Hunk, old_tests: set[int], new_tests: set[int]
) -> tuple[_Hunk | None, _Hunk | None]:
    test = _Hunk(0, 0, 0, 0, hunk.context)
    fix = _Hunk(0, 0, 0, 0, hunk.context)
    old, new = hunk.old_start + (hunk.old_count == 0), hunk.new_start + (hunk.new_count == 0)
    changed_test = changed_fix = False
    last_test = last_fix = True  # whether the previous line was kept on each side
    for line in hunk.lines:
        mark, rest = line[:1], line[1:]
        if mark == "\\":  # "\ No newline at end of file" follows the line it is about
            test.lines += [line] * last_test
            fix.lines += [line] * last_fix
            continue
        is_test = (mark == "-" and old in old_tests) or (mark == "+" and new in new_tests)
        test_line = {" ": line, "-": line if is_test else " " + rest}.get(mark)
        fix_line = {" ": line, "-": None if is_test else line}.get(mark)
        if mark == "+":
            test_line, fix_line = (line, " " + rest) if is_test else (None, line)
        changed_test |= mark in "+-" and is_test
        changed_fix |= mark in "+-" and not is_test
        last_test, last_fix = test_line is not None, fix_line is not None
        test.lines += [test_line] if test_line is not None else []
        fix.lines += [fix_line] if fix_line is not None else []
        old += mark in " -"
        new += mark in " +"
    for part in (test, fix):
        part.old_count = sum(x[:1] in " -" for x in part.lines)
        part.new_count = sum(x[:1] in " +" for x in part.lines)
    return (test if changed_test else None), (fix if changed_fix else None)


def _start(first_line: int, count: int) -> int:
    """A hunk's start as unified diffs write it: the line before an empty range."""
    return first_line if count else first_line - 1


def _old_side(line: str, header: list[str]) -> str:
    """The fix patch of a new file modifies what the test patch created."""
    if line.startswith("--- /dev/null"):
        new = next((h for h in header if h.startswith("+++ b/")), "+++ b/")
        return "--- a/" + new.removeprefix("+++ b/")
    return line


def _parse(section: str) -> tuple[list[str], list[_Hunk]]:
    header: list[str] = []
    hunks: list[_Hunk] = []
    for line in section.splitlines():
        match = HUNK.match(line)
        if match:
            a, b, c, d, context = match.groups()
            hunks.append(_Hunk(int(a), _count(b), int(c), _count(d), context))
        elif hunks:
            hunks[-1].lines.append(line)
        else:
            header.append(line)
    return header, hunks


def _count(text: str | None) -> int:
    return 1 if text is None else int(text)


def _render(header: list[str], hunks: list[_Hunk]) -> str:
    lines = list(header)
    for h in hunks:
        lines.append(f"@@ -{h.old_start},{h.old_count} +{h.new_start},{h.new_count} @@{h.context}")
        lines += h.lines
    return "\n".join(lines) + "\n"


def _attribute_end(code: str, start: int) -> int:
    """The index after the ``]`` that closes the attribute starting at ``start``."""
    depth = 0
    for index in range(code.index("[", start), len(code)):
        depth += {"[": 1, "]": -1}.get(code[index], 0)
        if depth == 0:
            return index + 1
    return len(code)


def _item_end(code: str, start: int) -> int | None:
    """The index of the ``;`` or ``}`` that ends the item after an attribute, or None."""
    depth = 0
    opened = False
    for index in range(start, len(code)):
        char = code[index]
        if char in "([{":
            depth += 1
            opened = opened or (char == "{" and depth == 1)
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and char == "}" and opened:
                return index
        elif char == ";" and depth == 0:
            return index
    return None


def _masked(text: str) -> str:
    """``text`` with comments, strings and character literals blanked (newlines kept)."""
    out = list(text)
    index, length = 0, len(text)

    def blank(start: int, end: int) -> None:
        for i in range(start, min(end, length)):
            if out[i] != "\n":
                out[i] = " "

    while index < length:
        found = LEXEME_START.search(text, index)  # nothing else can open what is blanked
        if found is None:
            break
        index = found.start()
        char = text[index]
        ahead = text[index : index + 2]
        if ahead == "//":
            end = text.find("\n", index)
            end = length if end < 0 else end
            blank(index, end)
            index = end
        elif ahead == "/*":
            end = _block_comment_end(text, index)
            blank(index, end)
            index = end
        elif char in "br" and (raw := RAW_STRING.match(text, index)):
            if index and (text[index - 1].isalnum() or text[index - 1] == "_"):
                index += 1
                continue
            closing = '"' + raw.group(1)
            end = text.find(closing, raw.end())
            end = length if end < 0 else end + len(closing)
            blank(index, end)
            index = end
        elif char == '"':
            end = _string_end(text, index + 1)
            blank(index, end)
            index = end
        elif char == "'":
            end = _char_end(text, index)
            blank(index, end)
            index = max(end, index + 1)
        else:
            index += 1
    return "".join(out)


def _block_comment_end(text: str, start: int) -> int:
    depth, index = 0, start
    while index < len(text):
        if text.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif text.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(text)


def _string_end(text: str, index: int) -> int:
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == '"':
            return index + 1
        else:
            index += 1
    return len(text)


def _char_end(text: str, start: int) -> int:
    """The end of a character literal at ``start``, or ``start`` for a lifetime (``'a``)."""
    if text.startswith("\\", start + 1):  # '\n', '\'', '\u{1F600}'
        end = text.find("'", start + 3)
        return start if end < 0 else end + 1
    if start + 2 < len(text) and text[start + 2] == "'":
        return start + 3
    return start
