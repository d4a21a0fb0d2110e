"""A page's state as a share link, driven by one declaration per field. Pure Python.

Each field of a page's state dataclass is declared once, with :func:`declare`::

    steps: int = declare(200, Plain("steps", Int(0, MAX_STEPS), widget=Key(K("steps"))))

which says everything the app needs about it: the default (200), the type (the annotation),
the name in the URL (``steps``), how a text from the URL is validated (``Int(0, 2000)``) and
which widget shows it (session-state key ``explore.steps``). :class:`Codec` reads the
declarations of a dataclass in order and does the rest for every field alike:

* ``decode(query) -> (state, warnings)`` never raises: a field that cannot be read keeps its
  default and adds one polite warning naming the field, what was given (shortened) and what is
  allowed. Fields are decoded in declaration order, and a parser sees the fields decoded before
  it (``ctx``), so a field may depend on earlier ones (a start must lie inside the surface).
* ``encode(state) -> {key: text}`` writes only what differs from the default;
  ``decode(encode(s)) == (s, [])`` for every valid ``s``.
* ``apply(state, session_state)`` writes a state into the page's widgets (a lesson, a link).
* ``examples(ctx)`` lists valid non-default queries per field, so that the round-trip,
  share-link and hostile-input tests cover every declared field without naming it.

Three kinds of declaration: :class:`Plain` (one URL key), :class:`Params` (a dict of named
parameters under one prefix, e.g. ``ravine.kappa=100``) and :class:`OwnedParams` (a dict of
such dicts, one prefix per owner, e.g. ``adam.lr=0.01``). Parsers (:class:`Int`, :class:`Float`,
:class:`Bool`, :class:`Choice`, or any :class:`Parser`) raise :class:`Bad` with what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

Scalar = float | int | bool | str
Ctx = Mapping[str, Any]  # the fields decoded so far, by field name
Query = Mapping[str, str | list[str]]

MAX_VALUE_LEN = 400  # longer values are rejected unread (a typed formula has up to 300)
MAX_KEY_LEN = 60
MAX_KEYS = 300  # keys beyond this many are ignored (one warning)
MAX_WARNINGS = 12
URL = "url"  # the key of a declaration in a dataclass field's metadata
VERSION = "__version__"  # the link version, in the context a field is encoded with

_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

S = TypeVar("S")


class Bad(ValueError):
    """One field's value is unusable; the message says what is allowed."""


# ---------------------------------------------------------------- text in, text out


def shown(raw: str) -> str:
    """A short, harmless rendering of user input for a warning (shown inside a code span, so
    only a backtick could break out of it; control characters are replaced too)."""
    clean = "".join(c if c.isprintable() and c not in "`\\<>" else "?" for c in raw)
    return clean[:30] + ("…" if len(clean) > 30 else "")


_MARKDOWN = set("\\`*_{}[]()<>#+-!|$~^=&")


def escape_markdown(text: str, limit: int = 120) -> str:
    """A message that may quote user input (a formula's error), safe inside markdown: its first
    line only, control characters replaced, every markdown (and LaTeX ``$``) character escaped,
    at most ``limit`` characters before escaping."""
    line = text.split("\n", 1)[0]
    line = "".join(c if c.isprintable() else "?" for c in line)
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return "".join("\\" + c if c in _MARKDOWN else c for c in line)


def fmt(v: Any) -> str:
    """Shortest text that parses back to exactly ``v``."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def fmt_num(v: float | None) -> str:
    return "any" if v is None else f"{v:g}"


def range_text(low: float | None, high: float | None, what: str) -> str:
    if low is None and high is None:
        return f"expected {what}"
    return f"expected {what} from {fmt_num(low)} to {fmt_num(high)}"


def parse_float(raw: str, low: float | None = None, high: float | None = None) -> float:
    if not _FLOAT_RE.fullmatch(raw):
        raise Bad(range_text(low, high, "a finite number"))
    v = float(raw)
    if not math.isfinite(v) or (low is not None and v < low) or (high is not None and v > high):
        raise Bad(range_text(low, high, "a number"))
    return v


def parse_int(raw: str, low: int | None = None, high: int | None = None) -> int:
    if not _INT_RE.fullmatch(raw) or len(raw) > 20:
        raise Bad(range_text(low, high, "a whole number"))
    v = int(raw)
    if (low is not None and v < low) or (high is not None and v > high):
        raise Bad(range_text(low, high, "a whole number"))
    return v


def parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise Bad("expected 1 or 0")


def parse_choice(raw: str, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if raw not in allowed:
        raise Bad("expected one of " + ", ".join(allowed))
    return raw


def allowed_text(meta: Any) -> str:
    """What a core ``Param`` / ``Hyper`` accepts, in words."""
    if hasattr(meta, "range_text"):
        return str(meta.range_text())
    if getattr(meta, "choices", ()):
        return "one of " + ", ".join(meta.choices)
    return f"[{fmt_num(meta.low)}, {fmt_num(meta.high)}]"


def parse_meta(meta: Any, raw: str, check: Callable[[Any], Any] | None = None) -> Scalar:
    """Parse ``raw`` by the kind of a core ``Param`` / ``Hyper``, then validate with the core's
    own ``check`` (so ranges, open ends and choices are exactly the core's)."""
    kind = getattr(meta, "kind", "float")
    value: Scalar
    if kind == "text":  # typed text (a formula): the core's parser says what is wrong, where
        try:
            return str((check or meta.check)(raw))
        except (ValueError, TypeError) as exc:
            raise Bad(escape_markdown(str(exc))) from None
    if kind == "bool":
        value = parse_bool(raw)
    elif kind == "choice":
        value = raw
    else:
        value = parse_float(raw)
        if kind == "int":
            if value != round(value) or abs(value) > 2**53:
                raise Bad(f"expected a whole number in {allowed_text(meta)}")
            value = int(value)
    try:
        checked = (check or meta.check)(value)
    except (ValueError, TypeError):
        what = "a number" if kind in ("float", "int") else "a value"
        raise Bad(f"expected {what} in {allowed_text(meta)}") from None
    return int(checked) if kind == "int" else checked


def meta_examples(meta: Any) -> list[Scalar]:
    """Valid values other than the default of a core ``Param`` / ``Hyper`` (for the tests):
    the ones it lists itself (``examples``), else from its kind and range."""
    given = [v for v in getattr(meta, "examples", ()) if v != meta.default]
    if given:
        return given
    kind = getattr(meta, "kind", "float")
    if kind == "bool":
        return [not bool(meta.default)]
    if kind == "choice":
        return [c for c in meta.choices if c != meta.default][:2]
    lo = meta.low if meta.low is not None else float(meta.default) - 10.0
    hi = meta.high if meta.high is not None else float(meta.default) + 10.0
    out: list[Scalar] = []
    for v in (lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)):
        value: Scalar = round(v) if kind == "int" else float(f"{v:.6g}")
        if value != meta.default and value not in out:
            out.append(value)
    return out


def describe(default: Any) -> str:
    if default is None or default == ():
        return "the default"
    if isinstance(default, tuple):
        return "the default (" + (", ".join(fmt(v) for v in default) or "none") + ")"
    return f"the default ({fmt(default)})"


def query_string(params: Mapping[str, str]) -> str:
    """An encoded state as a URL query (``a=1&b=x%2Cy`` with readable commas kept)."""
    return "&".join(f"{quote(k, safe='.')}={quote(v, safe=',.-')}" for k, v in params.items())


# ---------------------------------------------------------------- reading a query


class Reader:
    """Hands out query values one key at a time and collects warnings."""

    def __init__(self, query: Mapping[Any, Any]) -> None:
        self.warnings: list[str] = []
        self.values: dict[str, str] = {}
        self.version = 1  # the link format the query is read in (Codec.decode sets it)
        try:
            items = list(query.items())
        except Exception:
            items = []
            self.warn("The link's settings could not be read; using the defaults.")
        if len(items) > MAX_KEYS:
            self.warn(f"The link has {len(items)} settings; only the first {MAX_KEYS} were read.")
            items = items[:MAX_KEYS]
        for key, value in items:
            self._add(key, value)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def _add(self, key: Any, value: Any) -> None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LEN:
            name = shown(str(key)) if isinstance(key, str) else type(key).__name__
            self.warn(f"Ignored a setting with an unusable name (`{name}`).")
            return
        if isinstance(value, list | tuple):
            vals = [v for v in value if isinstance(v, str)]
            if len(vals) != len(value) or not vals:
                self.warn(f"Ignored `{shown(key)}`: its value is not text.")
                return
            if len(set(vals)) > 1:
                self.warn(
                    f"Ignored `{shown(key)}`: it appears {len(vals)} times with different "
                    "values; using the default."
                )
                return
            value = vals[0]
        if not isinstance(value, str):
            self.warn(f"Ignored `{shown(key)}`: its value is not text.")
            return
        if len(value) > MAX_VALUE_LEN:
            self.warn(
                f"Ignored `{shown(key)}`: its value is {len(value)} characters long "
                f"(at most {MAX_VALUE_LEN}); using the default."
            )
            return
        self.values[key] = value

    def take(self, key: str) -> str | None:
        return self.values.pop(key, None)

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Pop every ``prefix<name>`` key; returns name -> raw value."""
        found = {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}
        for name in found:
            del self.values[prefix + name]
        return found


# ---------------------------------------------------------------- parsers


class Parser(Protocol):
    """Text from the URL -> a valid value (raises :class:`Bad`), knowing the fields before it."""

    def __call__(self, raw: str, ctx: Ctx, /) -> Any: ...

    def examples(self, ctx: Ctx, /) -> list[str]:
        """Valid texts, for the tests (the default's text may be among them)."""
        ...


@dataclasses.dataclass(frozen=True)
class Int:
    """A whole number in [low, high]; ``high`` may depend on the fields before it."""

    low: int
    high: int | Callable[[Ctx], int]

    def top(self, ctx: Ctx) -> int:
        return self.high(ctx) if callable(self.high) else self.high

    def __call__(self, raw: str, ctx: Ctx) -> int:
        return parse_int(raw, self.low, self.top(ctx))

    def examples(self, ctx: Ctx) -> list[str]:
        return sorted({str(self.low), str(self.top(ctx)), str((self.low + self.top(ctx)) // 2)})


@dataclasses.dataclass(frozen=True)
class Float:
    """A finite number in [low, high]."""

    low: float | None = None
    high: float | None = None

    def __call__(self, raw: str, _ctx: Ctx) -> float:
        return parse_float(raw, self.low, self.high)

    def examples(self, _ctx: Ctx) -> list[str]:
        lo = -1.0 if self.low is None else self.low
        hi = 1.0 if self.high is None else self.high
        return [repr(lo), repr(hi), repr((lo + hi) / 2)]


@dataclasses.dataclass(frozen=True)
class Bool:
    """1 / 0 (also true / false, yes / no, on / off)."""

    def __call__(self, raw: str, _ctx: Ctx) -> bool:
        return parse_bool(raw)

    def examples(self, _ctx: Ctx) -> list[str]:
        return ["1", "0"]


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of the names ``options(ctx)`` returns."""

    options: Callable[[Ctx], Sequence[str]]

    def __call__(self, raw: str, ctx: Ctx) -> str:
        return parse_choice(raw, self.options(ctx))

    def examples(self, ctx: Ctx) -> list[str]:
        return list(self.options(ctx))


# ---------------------------------------------------------------- widgets


Session = MutableMapping[str | int, Any]  # st.session_state, or a dict in the tests


class Binder(Protocol):
    """Writes one field's value into the widgets that show it."""

    def __call__(self, ss: Session, value: Any, state: Any, /) -> None: ...


@dataclasses.dataclass(frozen=True)
class Key:
    """A field shown by one widget: ``ss[key] = to_widget(value)`` (and ``also`` keys)."""

    key: str
    to_widget: Callable[[Any], Any] = lambda v: v
    also: tuple[str, ...] = ()

    def __call__(self, ss: Session, value: Any, _state: Any) -> None:
        shown_value = self.to_widget(value)
        for key in (self.key, *self.also):
            ss[key] = shown_value

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.also)


# ---------------------------------------------------------------- declarations


class Field(Protocol):
    """One field's declaration: how it is read from, written to and shown by the URL."""

    @property
    def widget(self) -> Binder | None: ...

    def decode(self, rd: Reader, ctx: Ctx, default: Any, /) -> Any: ...

    def encode(self, value: Any, ctx: Ctx, /) -> dict[str, str]: ...

    def examples(self, ctx: Ctx, /) -> list[dict[str, str]]: ...


@dataclasses.dataclass(frozen=True)
class Plain:
    """A field under one URL key: ``steps=300``."""

    key: str
    parse: Parser
    widget: Binder | None = None
    show: Callable[[Any], str] = fmt

    def decode(self, rd: Reader, ctx: Ctx, default: Any) -> Any:
        raw = rd.take(self.key)
        if raw is None:
            return default
        try:
            return self.parse(raw, ctx)
        except Bad as exc:
            rd.warn(f"Ignored `{self.key}={shown(raw)}`: {exc}; using {describe(default)}.")
            return default

    def encode(self, value: Any, _ctx: Ctx) -> dict[str, str]:
        return {self.key: self.show(value)}

    def examples(self, ctx: Ctx) -> list[dict[str, str]]:
        return [{self.key: raw} for raw in self.parse.examples(ctx)]


def _default_of(meta: Any, used: Any) -> str:
    """How a warning names what a parameter falls back to (``used``: its default, or the value
    a link version reads in its place)."""
    if used is None:  # optional: the owner chooses it
        return "the value chosen automatically"
    if getattr(meta, "kind", "") == "text":
        return f"`{shown(str(used))}`"
    return fmt(used)


def _named(
    rd: Reader,
    prefix: str,
    raws: Mapping[str, str],
    metas: Mapping[str, Any],
    owner: str | None = None,
    fallback: Mapping[str, Scalar] | None = None,
) -> dict[str, Scalar]:
    """Validate ``{name: raw}`` against ``{name: Param|Hyper}``; warn about the rest (a bad
    value falls back to ``fallback[name]``, else to the metadata's default)."""
    out: dict[str, Scalar] = {}
    for name, raw in raws.items():
        meta = metas.get(name)
        if meta is None:
            rd.warn(
                f"Ignored `{prefix}{shown(name)}`: no such setting (known: "
                + (", ".join(metas) or "none")
                + ")."
            )
            continue
        try:
            check = None if owner is None else (lambda v, m=meta: m.check(v, owner))
            out[name] = parse_meta(meta, raw, check)
        except Bad as exc:
            used = meta.default if fallback is None else fallback.get(name, meta.default)
            rd.warn(
                f"Ignored `{prefix}{name}={shown(raw)}`: {exc}; using {_default_of(meta, used)}."
            )
    return out


@dataclasses.dataclass(frozen=True)
class Params:
    """Named parameters under one prefix: ``sched.step_size=50``, ``ravine.kappa=100``.

    ``prefix(ctx)`` and ``metas(ctx)`` (name -> core ``Param`` / ``Hyper``) may depend on the
    fields before it; ``owner(ctx)`` names the owner in the core's check messages;
    ``together(values, ctx)`` may reject a combination (then every value falls back).
    """

    prefix: Callable[[Ctx], str]
    metas: Callable[[Ctx], Mapping[str, Any]]
    widget: Binder | None = None
    owner: Callable[[Ctx], str] | None = None
    together: Callable[[dict[str, Scalar], Ctx], None] | None = None
    pattern: str = ""  # how the keys look, for people: "<surface>.<param>"

    def decode(self, rd: Reader, ctx: Ctx, default: Any) -> Any:
        prefix = self.prefix(ctx)
        owner = None if self.owner is None else self.owner(ctx)
        values = _named(rd, prefix, rd.prefixed(prefix), self.metas(ctx), owner)
        if values and self.together is not None:
            try:
                self.together(values, ctx)
            except Bad as exc:
                rd.warn(
                    f"Ignored the {prefix[:-1]} parameters ({escape_markdown(str(exc))}); "
                    "using their defaults."
                )
                return default
        return values

    def encode(self, value: Any, ctx: Ctx) -> dict[str, str]:
        prefix = self.prefix(ctx)
        return {prefix + name: fmt(v) for name, v in value.items()}

    def examples(self, ctx: Ctx) -> list[dict[str, str]]:
        prefix = self.prefix(ctx)
        return [
            {prefix + name: fmt(v)}
            for name, meta in self.metas(ctx).items()
            for v in meta_examples(meta)[:1]
        ]


@dataclasses.dataclass(frozen=True)
class OwnedParams:
    """One dict of named parameters per owner: ``adam.lr=0.01&sgd.lr=0.1``.

    Every owner in ``owners()`` has the prefix ``<owner>.``; only those in ``chosen(ctx)`` are
    read (the settings of another owner are reported), and the result follows their order.
    The value holds, per owner, the parameters that differ from the metadata's defaults.

    ``defaults(ctx, owner)``: the values a page starts a chosen owner from where they are not
    the metadata's defaults (Explore's per-surface learning rates). From link version 2 on, a
    chosen owner's parameter that a link leaves out (or gives a bad value) takes this value,
    and links write every value that differs from it; in a version-1 link a missing parameter
    means the metadata's default, as it did when such links were made.
    """

    owners: Callable[[], Sequence[str]]
    chosen: Callable[[Ctx], Sequence[str]]
    metas: Callable[[str], Mapping[str, Any]]
    what: str  # "optimizers": for the warning about an owner that is not chosen
    widget: Binder | None = None
    pattern: str = ""
    defaults: Callable[[Ctx, str], Mapping[str, Scalar]] | None = None
    since: int = 2  # the link version from which ``defaults`` apply

    def page_values(self, ctx: Ctx, owner: str, version: int) -> dict[str, Scalar]:
        """The values a chosen ``owner`` starts from in a link of ``version`` where they are not
        the metadata's defaults (none before version ``since``)."""
        if self.defaults is None or version < self.since:
            return {}
        metas = self.metas(owner)
        return {
            n: v
            for n, v in self.defaults(ctx, owner).items()
            if n in metas and v != metas[n].default
        }

    def decode(self, rd: Reader, ctx: Ctx, _default: Any) -> Any:
        chosen = tuple(self.chosen(ctx))
        out: dict[str, dict[str, Scalar]] = {}
        for name in self.owners():
            raws = rd.prefixed(name + ".")
            if name not in chosen:
                if raws:
                    rd.warn(
                        f"Ignored the settings for `{name}`: it is not among the chosen "
                        f"{self.what}."
                    )
                continue
            metas = self.metas(name)
            page = self.page_values(ctx, name, rd.version)
            given = _named(rd, name + ".", raws, metas, owner=name, fallback=page)
            # a page value the link sets back to the metadata's default is that default
            kept = {n: v for n, v in page.items() if n not in given}  # unset, or unusable
            given = {n: v for n, v in given.items() if n not in page or v != metas[n].default}
            vals = kept | given
            if vals:
                out[name] = vals
        return {o: out[o] for o in chosen if o in out}

    def encode(self, value: Any, ctx: Ctx) -> dict[str, str]:
        out: dict[str, str] = {}
        chosen = tuple(self.chosen(ctx))
        version = int(ctx.get(VERSION, 1))
        for o in [*chosen, *(o for o in value if o not in chosen)]:
            own = value.get(o, {})
            page = self.page_values(ctx, o, version) if o in chosen else {}
            for h, v in own.items():
                if h not in page or v != page[h]:
                    out[f"{o}.{h}"] = fmt(v)
            metas = self.metas(o) if page else {}
            for h in page:  # at the metadata's default, where the page starts elsewhere
                if h not in own:
                    out[f"{o}.{h}"] = fmt(metas[h].default)
        return out

    def examples(self, ctx: Ctx) -> list[dict[str, str]]:
        return [
            {f"{o}.{name}": fmt(v)}
            for o in self.chosen(ctx)
            for name, meta in self.metas(o).items()
            for v in meta_examples(meta)[:1]
        ]


def declare(default: Any, url: Field) -> Any:
    """A dataclass field with its URL declaration (mutable defaults are copied per instance)."""
    meta = {URL: url}
    if isinstance(default, dict | list):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ---------------------------------------------------------------- the codec


class Codec(Generic[S]):
    """Everything about one page state's URL, from the declarations of its dataclass.

    ``version``: the link format this codec writes. A link that carries ``v=<n>`` is read as
    version n; a link without it was written before versions existed and is read as version
    1, so that it keeps opening the race it opened (a plain visit, an empty query, is read as
    the current version). Only declarations whose meaning changed between versions look at
    it (:class:`OwnedParams` with page defaults). ``display``: the fields that only change how
    the page looks (a lesson never changes them; a link that leaves them out keeps the
    visitor's current ones).
    """

    VERSION_KEY = "v"

    def __init__(
        self,
        cls: type[S],
        page: str,
        *,
        contexts: Sequence[Mapping[str, str]] = ({},),
        version: int = 1,
        display: Sequence[str] = (),
    ) -> None:
        """``contexts``: queries under which the tests try every field's examples (a field
        may need others set first: the explained optimizer must be among the chosen ones)."""
        self.cls = cls
        self.page = page
        self.contexts = tuple(dict(c) for c in contexts)
        self.version = version
        self.display = tuple(display)
        self.fields: dict[str, Field] = {}
        self.defaults: dict[str, Any] = {}
        default = cls()
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            decl = f.metadata.get(URL)
            if decl is None:
                raise TypeError(f"{cls.__name__}.{f.name} has no URL declaration (declare())")
            self.fields[f.name] = decl
            self.defaults[f.name] = getattr(default, f.name)
        unknown = set(self.display) - set(self.fields)
        if unknown:
            raise TypeError(f"display fields {sorted(unknown)} are not fields of {cls.__name__}")

    def version_of(self, query: Mapping[Any, Any]) -> int:
        """The link version a query is read in (see the class docstring)."""
        try:
            if not len(query):
                return self.version
            raw = query.get(self.VERSION_KEY)
        except Exception:
            return self.version
        if raw is None:
            return 1
        if isinstance(raw, list | tuple):
            raw = raw[0] if len(set(raw)) == 1 else ""
        try:
            return parse_int(str(raw), 1, self.version)
        except Bad:
            return self.version

    def default(self) -> S:
        return self.cls()

    def keys(self) -> dict[str, str]:
        """Field name -> URL key, for the fields under one key."""
        return {n: d.key for n, d in self.fields.items() if isinstance(d, Plain)}

    def patterns(self) -> dict[str, str]:
        """Field name -> how its keys look, for every field (docs and tests)."""
        return {
            n: d.key if isinstance(d, Plain) else getattr(d, "pattern", "")
            for n, d in self.fields.items()
        }

    def decode(self, query: Query) -> tuple[S, list[str]]:
        """Query parameters -> (state, warnings). Never raises; bad fields fall back."""
        try:
            return self._decode(query)
        except Exception as exc:  # a defect here must never take the page down
            return self.cls(), [
                f"The link could not be read ({type(exc).__name__}); using defaults."
            ]

    def _decode(self, query: Query) -> tuple[S, list[str]]:
        rd = Reader(query)
        rd.version = self.version_of(query)
        raw_version = rd.take(self.VERSION_KEY)
        if raw_version is not None and raw_version != str(rd.version):
            rd.warn(
                f"Ignored `{self.VERSION_KEY}={shown(raw_version)}`: expected a link version "
                f"from 1 to {self.version}; read as version {rd.version}."
            )
        ctx: dict[str, Any] = {}
        for name, decl in self.fields.items():
            ctx[name] = decl.decode(rd, ctx, self.defaults[name])
        for key, raw in rd.values.items():
            rd.warn(f"Ignored unknown setting `{shown(key)}={shown(raw)}`.")
        warnings = rd.warnings
        if len(warnings) > MAX_WARNINGS:
            more = len(warnings) - MAX_WARNINGS + 1
            warnings = [*warnings[: MAX_WARNINGS - 1], f"… and {more} more ignored settings."]
        return self.cls(**ctx), warnings

    def context(self, state: S) -> dict[str, Any]:
        return {name: getattr(state, name) for name in self.fields}

    def encode(self, state: S) -> dict[str, str]:
        """State -> query parameters: only the fields that differ from the default (what a
        version-dependent declaration writes may also depend on other fields), led by the
        link version when there is anything to write."""
        ctx = self.context(state)
        ctx[VERSION] = self.version
        out: dict[str, str] = {}
        for name, decl in self.fields.items():
            if ctx[name] != self.defaults[name] or isinstance(decl, OwnedParams):
                out.update(decl.encode(ctx[name], ctx))
        if out and self.version > 1:
            out = {self.VERSION_KEY: str(self.version), **out}
        return out

    def canonical(self, state: S) -> tuple[S, list[str]]:
        """The valid state nearest to ``state`` (bad fields reset) and what was reset."""
        return self.decode(self.encode(state))

    def query_string(self, state: S) -> str:
        return query_string(self.encode(state))

    def apply(self, state: S, ss: Session, *, skip: Callable[[str], bool] | None = None) -> None:
        """Write ``state`` into the widgets' session-state keys (before they are drawn).

        ``skip(field_name)`` leaves some fields' widgets as they are.
        """
        for name, decl in self.fields.items():
            if decl.widget is not None and not (skip and skip(name)):
                decl.widget(ss, getattr(state, name), state)

    def examples(self, name: str, state: S) -> list[dict[str, str]]:
        """Valid queries that set field ``name`` on top of ``state`` (for the tests)."""
        ctx = self.context(state)
        return self.fields[name].examples(ctx)
