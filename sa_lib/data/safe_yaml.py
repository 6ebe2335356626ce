"""One hardened YAML reader for the workbook's own files (parameters, MoRiLE scales).

PyYAML's ``safe_load`` never runs code, but it still accepts input that silently
changes meaning or exhausts the machine: a key given twice keeps only the last
value (a second ``thresholds`` would switch disclosure control off), a few
aliases can expand to billions of values, a 5,000-digit integer or a date such
as 2025-02-30 raises a Python error instead of a message, and deep nesting
overflows the stack.  :func:`load_yaml` and :func:`read_yaml` refuse all of these
before any value reaches the program, each with the line (1-based) and the key
path, as one :class:`~sa_lib.errors.ParameterError`::

    parameters/2025.yaml: line 57, key thresholds: duplicate key 'thresholds' (first
    on line 52); expected each key once (YAML would silently keep only the last)

Limits (module constants): a file of at most :data:`MAX_BYTES`, nesting at most
:data:`MAX_DEPTH` levels, at most :data:`MAX_ALIASES` aliases (``*name``), at
most :data:`MAX_VALUES` values once aliases are expanded, whole numbers of at
most :data:`MAX_INT_DIGITS` digits, finite numbers only, real dates only, plain
values as keys, and only the standard tags (text, numbers, booleans, null,
dates, lists and mappings; no ``!!python/...``, ``!!binary``, ``!!set`` or
merge keys ``<<``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sa_lib.errors import ParameterError

__all__ = ["SafeYAMLLoader", "load_yaml", "read_yaml", "MAX_BYTES", "MAX_DEPTH",
           "MAX_ALIASES", "MAX_VALUES", "MAX_INT_DIGITS"]

#: Largest file read (1 MiB; the bundled parameters file is about 6 KB).
MAX_BYTES = 1 << 20
#: Deepest nesting of lists and mappings (the parameters file uses 4).
MAX_DEPTH = 20
#: Most aliases (``*name``) in one file.
MAX_ALIASES = 20
#: Most values (scalars, lists and mappings) once every alias is expanded.
MAX_VALUES = 100_000
#: Most digits in a whole number (anything larger is not a count or a score).
MAX_INT_DIGITS = 18

_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "seq", "map",
                                    "timestamp", "value")}


class _Refusal(Exception):
    """A refused construct, with where it is and what was expected."""

    def __init__(self, mark: yaml.Mark | None, path: str, what: str, expected: str) -> None:
        super().__init__(what)
        self.mark, self.path, self.what, self.expected = mark, path, what, expected

    def message(self, source: str) -> str:
        return f"{_where(source, self.mark, self.path)}: {self.what}; expected {self.expected}"


def _where(source: str, mark: yaml.Mark | None, path: str) -> str:
    parts = []
    if mark is not None:
        parts.append(f"line {mark.line + 1}")
    if path:
        parts.append(f"key {path}")
    return f"{source}: {', '.join(parts)}" if parts else source


def _show_key(text: str) -> str:
    short = text if len(text) <= 40 else text[:37] + "..."
    return short if re.fullmatch(r"[\w ()'&/-]+", short) else repr(short)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


class SafeYAMLLoader(yaml.SafeLoader):
    """A :class:`yaml.SafeLoader` that refuses what could mislead or exhaust the workbook.

    Use it through :func:`load_yaml` or :func:`read_yaml`, which turn its refusals
    into one :class:`~sa_lib.errors.ParameterError` naming the line and key.

    Examples
    --------
    >>> loader = SafeYAMLLoader("a: 1\\nb: [x, y]\\n")
    >>> loader.get_single_data()
    {'a': 1, 'b': ['x', 'y']}
    >>> loader.dispose()
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []
        self._depth = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}
        self._paths: dict[int, str] = {}

    # ----------------------------------------------------------------- composing
    def path_text(self) -> str:
        """The key path being read, e.g. ``themes[2].name`` (list items 1-based)."""
        out = ""
        for part in self._path:
            out += part if part.startswith("[") or not out else "." + part
        if len(out) > 100:  # deep nesting: the start and the end say where
            out = out[:45] + " ... " + out[-45:]
        return out

    def compose_node(self, parent: Node | None, index: object) -> Node:
        part = None
        if isinstance(parent, SequenceNode):
            part = f"[{int(index) + 1}]"  # type: ignore[call-overload]
        elif isinstance(parent, MappingNode) and isinstance(index, Node):
            part = _show_key(str(index.value)) if isinstance(index, ScalarNode) else "?"
        if part is not None:
            self._path.append(part)
        try:
            if self.check_event(yaml.AliasEvent):
                return self._compose_alias(parent, index)
            event = self.peek_event()
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refusal(event.start_mark, self.path_text(),
                               f"lists and mappings nested more than {MAX_DEPTH} levels deep",
                               "a flatter file (the parameters file needs 4 levels)")
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            self._paths[id(node)] = self.path_text()
            self._check(node)
            return node
        finally:
            if part is not None:
                self._path.pop()

    def _compose_alias(self, parent: Node | None, index: object) -> Node:
        event = self.peek_event()
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise _Refusal(event.start_mark, self.path_text(),
                           f"more than {MAX_ALIASES} aliases (*{event.anchor})",
                           "each value written out, or at most "
                           f"{MAX_ALIASES} aliases")
        node = super().compose_node(parent, index)
        if id(node) not in self._sizes:
            raise _Refusal(event.start_mark, self.path_text(),
                           f"the alias *{event.anchor} refers to the list or mapping that "
                           "holds it (a loop)", "an alias to a value that is already complete")
        return node

    def _check(self, node: Node) -> None:
        if node.tag not in _ALLOWED_TAGS:
            if node.tag == _STD + "merge":
                raise _Refusal(node.start_mark, self.path_text(),
                               "a merge key '<<' is not supported",
                               "the keys written out in full")
            raise _Refusal(node.start_mark, self.path_text(),
                           f"not valid YAML for the workbook: the tag {_show_tag(node.tag)} is "
                           "not allowed (a tag can build objects or run code)",
                           "plain text, numbers, true/false, dates, lists and mappings")
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, MappingNode):
            seen: dict[object, int] = {}
            for key, value in node.value:
                size += self._sizes[id(key)] + self._sizes[id(value)]
                self._check_key(key, seen)
        self._sizes[id(node)] = size
        if size > MAX_VALUES:
            raise _Refusal(node.start_mark, self.path_text(),
                           f"this value expands to more than {MAX_VALUES:,} values (aliases "
                           "repeat whole lists)", "a file of ordinary size")

    def _check_key(self, key: Node, seen: dict[object, int]) -> None:
        here = self.path_text()
        if not isinstance(key, ScalarNode):
            raise _Refusal(key.start_mark, here, "a list or mapping used as a key",
                           "a plain name or number as each key")
        name = _show_key(str(key.value))
        value = self.construct_object(key)
        try:
            first = seen.get(value)
        except TypeError:  # unhashable cannot happen for scalars; be safe
            first = None
        if first is not None:
            path = f"{here}.{name}" if here else name
            raise _Refusal(key.start_mark, path,
                           f"duplicate key {str(key.value)!r} (first on line {first})",
                           "each key once (YAML would silently keep only the last)")
        seen[value] = key.start_mark.line + 1

    # --------------------------------------------------------------- constructing
    def _refuse(self, node: Node, what: str, expected: str) -> _Refusal:
        return _Refusal(node.start_mark, self._paths.get(id(node), ""), what, expected)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        body = text.replace("_", "").lstrip("+-")
        if body[:2].lower() in ("0x", "0b", "0o"):
            body = body[2:]
        digits = sum(ch.isalnum() for ch in body)
        if digits > MAX_INT_DIGITS:
            raise self._refuse(node, f"a whole number with {digits:,} digits",
                               f"a number of at most {MAX_INT_DIGITS} digits")
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            text = str(node.value)
            raise self._refuse(node, f"{text[:40]!r} is not a finite number",
                               "a finite number (not .inf or .nan, and below 1e308)")
        return value

    def construct_yaml_timestamp(self, node: ScalarNode) -> object:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise self._refuse(node, f"{str(node.value)!r} is not a real date",
                               "a real date written YYYY-MM-DD") from None

    def construct_value(self, node: ScalarNode) -> str:
        """A lone ``=`` (YAML 1.1's "value" tag) is read as the text ``=``."""
        return str(self.construct_scalar(node))


SafeYAMLLoader.add_constructor(_STD + "int", SafeYAMLLoader.construct_yaml_int)
SafeYAMLLoader.add_constructor(_STD + "float", SafeYAMLLoader.construct_yaml_float)
SafeYAMLLoader.add_constructor(_STD + "timestamp", SafeYAMLLoader.construct_yaml_timestamp)
SafeYAMLLoader.add_constructor(_STD + "value", SafeYAMLLoader.construct_value)


def _binary_kind(data: bytes) -> str:
    """What a file is, recognised by its first bytes ("" for anything else)."""
    for magic, kind in ((b"\x1f\x8b", "gzip-compressed"), (b"PK\x03\x04", "a zip archive "
                        "(or an Excel workbook)"), (b"\xff\xfe", "UTF-16 text"),
                        (b"\xfe\xff", "UTF-16 text"), (b"%PDF", "a PDF document")):
        if data.startswith(magic):
            return kind
    return ""


def load_yaml(data: bytes | str, source: str) -> Any:
    """Parse YAML text with :class:`SafeYAMLLoader`; every refusal is one ParameterError.

    Parameters
    ----------
    data : bytes or str
        The file's content (bytes must be UTF-8).
    source : str
        Named at the start of every message (usually the file's path).

    Returns
    -------
    object
        The parsed document (``None`` for an empty one).

    Raises
    ------
    ParameterError
        ``"<source>: line N, key a.b: what is wrong; expected ..."``: not UTF-8, a
        syntax error, a duplicate key, too many aliases or values, deep nesting, a
        tag other than the standard ones, a huge integer, a non-finite number, an
        impossible date, or a file over :data:`MAX_BYTES`.

    Examples
    --------
    >>> load_yaml("window: {end: '2025-12', months: 12}", "p.yaml")
    {'window': {'end': '2025-12', 'months': 12}}
    >>> load_yaml("a: 1\\nb:\\n  c: 2\\n  c: 3\\n", "p.yaml")
    Traceback (most recent call last):
    ...
    sa_lib.errors.ParameterError: p.yaml: line 4, key b.c: duplicate key 'c' (first on line 3); expected each key once (YAML would silently keep only the last)
    """
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise ParameterError(f"{source}: the file is {size:,} bytes; expected at most "
                             f"{MAX_BYTES:,} bytes (1 MiB) of YAML")
    if isinstance(data, bytes):
        kind = _binary_kind(data)
        if kind:
            raise ParameterError(f"{source}: the file is {kind}, not YAML text; expected a "
                                 "UTF-8 text file of keys and values")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ParameterError(
                f"{source}: not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot "
                "be read; expected a UTF-8 file (save it as UTF-8 in your editor)") from None
    else:
        text = data
    loader: SafeYAMLLoader | None = None
    try:
        loader = SafeYAMLLoader(text)
        return loader.get_single_data()
    except _Refusal as exc:
        raise ParameterError(exc.message(source)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        path = loader.path_text() if loader is not None else ""
        raise ParameterError(f"{_where(source, mark, path)}: not valid YAML: "
                             f"{what}; expected a YAML mapping of keys to values") from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise ParameterError(f"{source}: line {line}: not valid YAML: the character "
                             f"U+{ord(char):04X} is not allowed; expected printable text") \
            from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{source}: not valid YAML: {exc}; expected a YAML mapping of "
                             "keys to values") from None
    except RecursionError:
        raise ParameterError(f"{source}: nested too deeply to read; expected at most "
                             f"{MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: str | Path, source: str | None = None) -> Any:
    """Read a YAML file with :func:`load_yaml`, never more than :data:`MAX_BYTES` + 1 bytes.

    Raises
    ------
    ParameterError
        As :func:`load_yaml`, or the file cannot be read.

    Examples
    --------
    >>> from sa_lib.paths import PARAMETERS_DIR
    >>> read_yaml(PARAMETERS_DIR / "2025.yaml")["area"]["code"]
    'E22000142'
    """
    path = Path(path)
    name = source if source is not None else str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ParameterError(f"{name}: cannot be read ({exc.strerror}); expected a YAML file") \
            from None
    if len(data) > MAX_BYTES:
        raise ParameterError(f"{name}: the file is larger than {MAX_BYTES:,} bytes (1 MiB); "
                             "expected a parameters file of ordinary size")
    return load_yaml(data, name)
