"""The ``nebula-images`` command line: generate, batch, models and mock.

Exit codes scripts can rely on:

====  ==========================================================
0     success
1     an API or connection error (or ``batch --fail-fast`` stopped)
2     a usage error: a bad option or value, a missing/empty/malformed input file
      or line of standard input, no API key, an ``-o`` that cannot be a file
3     ``batch`` finished but some items failed (the others are on disk)
130   interrupted (Ctrl-C); finished images stay on disk
====  ==========================================================

Errors are one line on stderr in the CLI's words (``--seed``, not ``seed=``), never a
traceback and never the API key; with ``--json`` they are one JSON object on stderr.
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol

import attrs
import click

from ._batch import BatchError, BatchProgress, BatchSkipped, generate_many_sync
from ._cli_options import request_options
from ._errors import (
    AuthenticationError,
    NebulaError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ._models_table import GENERIC, parse_parameter
from ._output import (
    convert_image,
    file_extension,
    format_for_extension,
    image_file_name,
    result_record,
    slug,
    write_atomically,
)
from ._redaction import redact_secret

if TYPE_CHECKING:
    from ._client import Client

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "cli",
    "main",
]

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130

ENV_API_KEY = "NEBULA_API_KEY"
ENV_BASE_URL = "NEBULA_BASE_URL"

# Per-item keys a JSONL batch line may carry: every generation parameter, plus the
# model (also under its wire spelling model_name) and a per-item idempotency key.
_ITEM_KEYS = GENERIC.parameters | {"model", "model_name", "idempotency_key"}
# A Python keyword argument in a library message ("remove seed=", "pass api_key=..."):
# the CLI says --seed, --api-key instead.
_PYTHON_ARGUMENT = re.compile(r"\b([a-z][a-z_]*)=(?:\.\.\.)?(?=[\s),;:.]|$)")
_CLI_WORDS = {"api_key": f"--api-key or {ENV_API_KEY}", "base_url": f"--base-url or {ENV_BASE_URL}"}
# "(it takes: guidance_scale, height)": the parameters a model takes, as options.
_TAKES = re.compile(r"(it takes: )([a-z_]+(?:, [a-z_]+)*)")
_NO_CLI_OPTION = frozenset({"deadline", "max_response_bytes", "http_client", "retry_ambiguous"})


# --- errors: one line, exit code attached, key scrubbed ---


class CLIError(click.ClickException):
    """A failure reported as one ``error: ...`` line; exits 1."""

    exit_code = EXIT_API_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class CLIInputError(CLIError):
    """Bad input or setup (a value out of range, an extra not installed); exits 2."""

    exit_code = EXIT_USAGE


@attrs.frozen
class _Settings:
    api_key: str | None = attrs.field(repr=False)
    base_url: str | None
    timeout: float | None
    max_retries: int | None
    rate_limit: float | None = None

    def scrub(self, text: str) -> str:
        """Text with the API key masked, should any layer ever echo it."""
        return redact_secret(text, self.api_key)

    def client(self) -> Client:
        if not self.api_key:
            raise click.UsageError(
                f"no API key: pass --api-key or set the environment variable {ENV_API_KEY}"
            )
        from ._client import Client

        options: dict[str, Any] = {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        if self.rate_limit is not None:
            options["rate_limit"] = self.rate_limit
        return Client(api_key=self.api_key, base_url=self.base_url, **options)


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines) or type(exc).__name__


def _option_name(name: str) -> str:
    """The CLI's spelling of a library argument: seed -> --seed, api_key -> --api-key."""
    if name in _CLI_WORDS:
        return _CLI_WORDS[name]
    if name == "prompt":
        return "PROMPT"
    if name in _NO_CLI_OPTION:
        return f"{name}="  # no CLI option: keep the library's word
    return "--" + name.replace("_", "-")


def cli_words(text: str) -> str:
    """A library message in the CLI's words: ``seed=`` -> ``--seed``."""
    text = text.replace("client.models.list() or ", "")
    text = _TAKES.sub(
        lambda m: m.group(1) + ", ".join(_option_name(n) for n in m.group(2).split(", ")), text
    )
    return _PYTHON_ARGUMENT.sub(lambda m: _option_name(m.group(1)), text)


def _validation_message(exc: ValidationError) -> str:
    field = exc.field.split(".")[-1].split("[")[0]
    where = _option_name(field) if re.fullmatch(r"[a-z_]+", field) else exc.field
    return cli_words(f"{where}: {exc.problem}. Fix: {exc.fix}")


def _not_found_message(exc: NotFoundError, settings: _Settings | None) -> str:
    """A 404 on a path (not on a model) most often means a base URL without /api/v1."""
    text = _one_line(exc)
    if "model" in text.split(";")[0].lower():
        return cli_words(text)
    url = (settings.base_url if settings else None) or os.environ.get(ENV_BASE_URL) or "the default"
    return (
        f"{text.split(';')[0]}: the API is not at {url}; check --base-url or {ENV_BASE_URL} "
        "(it ends in /api/v1, e.g. http://127.0.0.1:8080/api/v1 for `nebula-images mock`)"
    )


class _Group(click.Group):
    """Turns library errors into one-line CLI errors for every command, and shows every
    error as one line (JSON with ``--json``), Click's own usage errors included."""

    # Click's signature, unchanged: this only decides how errors are shown.
    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            returned = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = returned if isinstance(returned, int) else EXIT_OK
        except click.ClickException as exc:
            _show_error(exc, as_json=_wants_json(argv))
            code = exc.exit_code
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except (KeyboardInterrupt, click.Abort):
            click.echo("interrupted: finished images are on disk; run again to resume", err=True)
            code = EXIT_INTERRUPTED
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ValidationError as exc:  # caught before any request: the user's input
            raise CLIInputError(_scrub(ctx, _validation_message(exc))) from None
        except NotFoundError as exc:
            message = _not_found_message(exc, ctx.find_object(_Settings))
            raise CLIError(_scrub(ctx, message)) from None
        except NebulaError as exc:
            raise CLIError(_scrub(ctx, cli_words(_one_line(exc)))) from None
        except OSError as exc:
            raise CLIError(_scrub(ctx, _one_line(exc))) from None
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if os.environ.get("NEBULA_DEBUG"):
                raise
            message = (
                f"unexpected {type(exc).__name__}: {_one_line(exc)} (NEBULA_DEBUG=1 shows more)"
            )
            raise CLIError(_scrub(ctx, message)) from None


def _scrub(ctx: click.Context, text: str) -> str:
    settings = ctx.find_object(_Settings)
    return settings.scrub(text) if settings is not None else text


# --- the group ---

_EPILOG = """\b
Examples:
  export NEBULA_API_KEY=ak_...
  nebula-images generate "a red fox in fresh snow" -o fox.png
  nebula-images batch prompts.txt --out out/ --concurrency 8
  cat prompts.txt | nebula-images batch - --out out/
  nebula-images models
  nebula-images mock --port 8080   # a local mock API for tests

\b
Exit codes:
  0    ok
  1    API or connection error (or batch --fail-fast stopped)
  2    usage error: a bad option or value, missing/empty/malformed input, no API key
  3    batch finished, but some items failed (the others are on disk)
  130  interrupted (Ctrl-C); finished images stay on disk
"""


@click.group(
    cls=_Group,
    epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--api-key",
    envvar=ENV_API_KEY,
    show_envvar=True,
    metavar="KEY",
    help="API key (ak_...). Prefer the environment variable.",
)
@click.option(
    "--base-url",
    envvar=ENV_BASE_URL,
    show_envvar=True,
    metavar="URL",
    help="API base URL, e.g. http://127.0.0.1:8080/api/v1 for the mock.",
)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Read timeout (s).")
@click.option("--max-retries", type=click.IntRange(min=0), help="Retries per call (default 2).")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="At most N requests per minute (your account tier's limit).",
)
@click.version_option(package_name="nebula-images", prog_name="nebula-images")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    rate_limit: float | None,
) -> None:
    """Generate images with NebulaBlock's serverless models."""
    ctx.obj = _Settings(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        rate_limit=rate_limit,
    )


def _params(spec_params: Sequence[str] = (), **values: Any) -> dict[str, Any]:
    chosen = {k: v for k, v in values.items() if v is not None}
    for text in spec_params:  # after the named options: --param overrides them
        name, value = parse_parameter(text, chosen.get("model"))
        chosen[name] = value
    return chosen


# --- generate ---


@cli.command(
    epilog="""\b
Examples:
  nebula-images generate "a lighthouse at dawn, oil painting" -o lighthouse.png
  nebula-images generate "a red fox" -m black-forest-labs/FLUX.1-schnell --seed 42 --json
  nebula-images generate "a heron at dusk" -o pictures/   # writes pictures/a-heron-at-dusk.png
  nebula-images generate "a small wooden boat" -m black-forest-labs/FLUX.1-Fill-dev \\
      --image photo.png --mask mask.png -o boat.png
"""
)
@click.argument("prompt")
@request_options
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True),  # a str: a Path would drop the "/" marking a directory
    help=(
        "File to write (.png, .jpg or .webp: the extension names the format), - for "
        "standard output, or a directory (existing, or ending in /) to write a name from "
        "the prompt into. Default: that name, here. Missing directories are created."
    ),
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing -o file. Without it an existing file is an error (exit 2), "
    "and a name from the prompt gets -2, -3... instead.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@click.pass_obj
def generate(
    settings: _Settings,
    /,
    prompt: str,
    output: str | None,
    overwrite: bool,
    as_json: bool,
    **request: Any,
) -> None:
    """Generate one image from PROMPT and write it to a file."""
    params = _params(**request)
    place = _OutputPlace.from_option(output, overwrite)  # checked before the billed call
    with settings.client() as client:
        result = client.images.generate(prompt, **params)
    files = place.write(prompt, result.images)
    report = click.echo if output != STDOUT else functools.partial(click.echo, err=True)
    if as_json:
        report(json.dumps(result_record(result, prompt, files), indent=2, default=str))
        return
    first = result.images[0]
    details = [result.model]
    if first.seed is not None:
        details.append(f"seed {first.seed}")
    if first.inference_seconds is not None:
        details.append(f"{first.inference_seconds:.1f} s inference")
    if result.request_id:
        details.append(f"request {result.request_id}")
    shown = ", ".join("standard output" if f == STDOUT else f for f in files)
    report(f"wrote {shown} ({', '.join(details)})")


STDOUT = "-"


class _PictureLike(Protocol):
    @property
    def data(self) -> bytes: ...
    @property
    def format(self) -> str: ...


@attrs.frozen
class _OutputPlace:
    """Where ``generate -o`` writes: a file, standard output, or a directory.

    A named file is never replaced without ``--overwrite``; a name from the prompt
    takes the first free one of ``slug.png``, ``slug-2.png``, ...
    """

    option: str | None
    directory: Path | None  # None: standard output
    name: str | None  # None: a name from the prompt
    overwrite: bool

    @classmethod
    def from_option(cls, output: str | None, overwrite: bool) -> _OutputPlace:
        if output == STDOUT:
            return cls(output, None, None, overwrite)
        path = Path(output or ".")
        if output is None or path.is_dir() or output.endswith(("/", os.sep)):
            directory, name = path, None
        else:
            directory, name = path.parent, path.name
            _check_extension(output, path.suffix)
            if path.exists() and not overwrite:
                raise CLIInputError(
                    f"-o {output}: the file exists; pass --overwrite to replace it, "
                    "or name another file"
                )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in (directory, *directory.parents) if p.exists()), directory)
            reason = (
                f"{blocker} is not a directory"
                if not blocker.is_dir()
                else f"cannot create the directory {directory} ({exc.strerror or exc})"
            )
            raise CLIInputError(f"-o {output}: {reason}") from None
        return cls(output, directory, name, overwrite)

    def write(self, prompt: str, pictures: Sequence[_PictureLike]) -> list[str]:
        """Write every picture; return where each went ("-": standard output)."""
        if self.directory is None:
            sys.stdout.buffer.write(pictures[0].data)
            sys.stdout.buffer.flush()
            if len(pictures) > 1:
                click.echo(f"note: {len(pictures) - 1} more image(s) not written", err=True)
            return [STDOUT]
        if self.name is not None:
            path = Path(self.name)
            return self._write_all(path.stem, path.suffix, pictures, overwrite=self.overwrite)
        base = slug(prompt)
        extension = "." + file_extension(pictures[0].format)
        for attempt in itertools.count(1):
            stem = base if attempt == 1 else f"{base}-{attempt}"
            try:
                return self._write_all(stem, extension, pictures, overwrite=self.overwrite)
            except FileExistsError:
                continue  # taken: the next name
        raise AssertionError("unreachable")

    def _write_all(
        self, stem: str, suffix: str, pictures: Sequence[_PictureLike], overwrite: bool
    ) -> list[str]:
        assert self.directory is not None
        written: list[Path] = []
        try:
            for position, picture in enumerate(pictures):
                extension = suffix.lstrip(".")
                data = picture.data
                wanted = format_for_extension(extension) if extension else None
                if wanted is not None and wanted != picture.format:
                    data = convert_image(data, wanted)
                name = (
                    image_file_name(stem, position, extension)
                    if extension
                    else (stem if position == 0 else f"{stem}-{position}")
                )
                path = self.directory / name
                write_atomically(path, data, overwrite=overwrite)
                written.append(path)
        except FileExistsError:
            for path in written:  # all or nothing: the next free name takes the whole set
                path.unlink(missing_ok=True)
            raise
        return [str(path) for path in written]


def _pillow_installed() -> bool:
    try:
        import PIL  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True


def _check_extension(output: str, suffix: str) -> None:
    """Refuse, before the call, an extension this command cannot write."""
    if not suffix:
        return  # no extension: the bytes as the server sent them
    wanted = format_for_extension(suffix)
    if wanted is None:
        raise CLIInputError(
            f"-o {output}: {suffix} names no format this command writes; use .png, .jpg or .webp"
        )
    if wanted != "png" and not _pillow_installed():
        raise CLIInputError(
            f"-o {output}: writing {wanted.upper()} needs Pillow: "
            "pip install 'nebula-images[pil]' (or write .png)"
        )


# --- batch ---


STDIN = "-"
_STDIN_NAME = "<stdin>"
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})


@attrs.frozen
class _PromptSource:
    """Batch input: a file, or standard input for ``-``; plain text or JSONL.

    Lines are read and checked one at a time, so a file or a pipe of any length is
    never held in memory. A bad line raises :class:`CLIInputError` naming
    ``NAME:LINE``.
    """

    path: Path | None  # None: standard input
    fmt: str  # "text", "jsonl" or "auto"

    @classmethod
    def from_argument(cls, file: Path, fmt: str) -> _PromptSource:
        if str(file) == STDIN:
            return cls(path=None, fmt=fmt)
        if not file.exists():
            raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
        if not file.is_file():
            raise click.BadParameter(f"{file} is not a file", param_hint="FILE")
        if fmt == "auto" and file.suffix.lower() in _JSONL_SUFFIXES:
            fmt = "jsonl"
        elif fmt == "auto" and file.suffix.lower() == ".txt":
            fmt = "text"  # a prompt may well start with "{"
        return cls(path=file, fmt=fmt)

    @property
    def name(self) -> str:
        """How messages name the input: its path, or ``<stdin>``."""
        return _STDIN_NAME if self.path is None else str(self.path)

    @property
    def short_name(self) -> str:
        return _STDIN_NAME if self.path is None else self.path.name

    def count(self) -> int:
        """Read a file once to count and check every line before any call is made."""
        count = sum(1 for _ in self.numbered_items())
        if count == 0:
            raise self.empty()
        return count

    def empty(self) -> CLIInputError:
        return CLIInputError(f"{self.name} has no prompts (blank lines and # comments are skipped)")

    def numbered_items(self) -> Iterator[tuple[int, Any]]:
        """(line number, item) pairs, streamed."""
        if self.path is None:
            # Bytes, decoded a line at a time: a bad byte is reported with its line.
            yield from self._parse(sys.stdin.buffer)
            return
        with self.path.open("rb") as lines:
            yield from self._parse(lines)

    def _parse(self, lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
        jsonl = None if self.fmt == "auto" else self.fmt == "jsonl"
        for number, raw in enumerate(lines, start=1):
            try:
                text = raw.decode("utf-8").removeprefix("\ufeff").strip()
            except UnicodeDecodeError:
                raise CLIInputError(f"{self.name}:{number}: not UTF-8 text") from None
            if not text or text.startswith("#"):
                continue
            if jsonl is None:
                jsonl = text.startswith("{")  # "auto": the first line with content decides
            yield number, (self._item(number, text) if jsonl else text)

    def _item(self, number: int, text: str) -> dict[str, Any]:
        where = f"{self.name}:{number}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CLIInputError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise CLIInputError(f"{where}: expected a JSON object with a 'prompt'")
        unknown = sorted(set(value) - _ITEM_KEYS)
        if unknown:
            raise CLIInputError(
                f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_ITEM_KEYS))}"
            )
        prompt = value.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise CLIInputError(f"{where}: 'prompt' must be a non-empty string")
        if self.path is not None:
            for field in ("image", "mask"):
                if isinstance(value.get(field), str):
                    # Paths in a file are relative to the file (on stdin: to the cwd).
                    value[field] = self.path.parent / value[field]
        return value


class _NumberedItems:
    """The items handed to the batch engine, streamed, with their line numbers.

    It remembers the line number of each item handed out until its outcome is reported
    (outcomes come back in input order, so this queue stays as short as the window).
    A bad line ends the input instead of raising into the engine: what was read before
    it still runs to the end and is saved, then the CLI reports ``input_error``.
    """

    def __init__(self, numbered: Iterator[tuple[int, Any]]) -> None:
        self._numbered = numbered
        self._lines: collections.deque[int] = collections.deque()
        self.input_error: CLIInputError | None = None

    def __iter__(self) -> Iterator[Any]:
        try:
            for number, item in self._numbered:
                self._lines.append(number)
                yield item
        except CLIInputError as exc:
            self.input_error = exc

    def line_of_next_outcome(self) -> int | None:
        return self._lines.popleft() if self._lines else None


class _SizedItems(_NumberedItems):
    """A file's items with a len(), so progress knows the total without loading them."""

    def __init__(self, numbered: Iterator[tuple[int, Any]], count: int) -> None:
        super().__init__(numbered)
        self._count = count

    def __len__(self) -> int:
        return self._count


def _batch_items(source: _PromptSource) -> _NumberedItems:
    if source.path is not None:
        count = source.count()  # a file: check it all before the first call
        return _SizedItems(source.numbered_items(), count)
    # Standard input is read once, as it comes. Its first item is read now: an empty
    # or malformed start fails before the output directory is created.
    numbered = source.numbered_items()
    first = next(numbered, None)
    if first is None:
        raise source.empty()
    return _NumberedItems(itertools.chain([first], numbered))


@cli.command(
    epilog="""FILE is a file, or - for standard input. Plain text has one prompt a line;
JSONL has one object a line with a "prompt" and any per-item parameters:

\b
  {"prompt": "a red fox", "seed": 42, "width": 768}

--format auto (the default) reads .jsonl/.ndjson files as JSONL, .txt files as
text, and anything else as JSONL when its first line with content starts with
"{". Blank lines and lines starting with # are skipped. Image and mask paths in
JSONL are relative to the file (on standard input: to the current directory).

A file is checked whole before the first call. Standard input is read as it
comes, each line checked as it is read: a malformed line ends the input there;
everything read before it still runs and is saved, then the command exits 2
naming <stdin>:LINE. Fix the line and run again to go on.

Each item is written to DIR as soon as it finishes, named by what it asks for:
a-red-fox-3f2a9c1b7e40.png plus a-red-fox-3f2a9c1b7e40.json (its metadata,
seed included); DIR/manifest.jsonl lists every item and its files. The name's
digest covers the model, every parameter, input pictures by their content, the
prompt and which repeat of an identical line it is. So running again, with
lines added, removed or reordered, generates only the new items and is never
billed twice for one (the same Idempotency-Key is sent), and another prompt
file into the same DIR never overwrites an item's files.

Off a terminal (CI logs) a progress line goes to stderr every 5% or 10 s.

\b
Examples:
  nebula-images batch prompts.txt --out out/ --concurrency 8
  nebula-images batch jobs.jsonl --out out/ -m black-forest-labs/FLUX.1-schnell
  grep -v draft ideas.txt | nebula-images batch - --out out/
  jq -c '.[]' jobs.json | nebula-images batch - --format jsonl --out out/
"""
)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    metavar="DIR",
    callback=lambda ctx, param, value: _output_dir(ctx, param, value),
    help="Output directory (created if missing), or an fsspec URL such as "
    "s3://bucket/prefix (needs the 'cloud' extra).",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "text", "jsonl"]),
    default="auto",
    show_default=True,
    help="How to read FILE: one prompt a line, or one JSON object a line.",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Generations in flight at once.",
)
@request_options
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed item (exit 1).")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@click.pass_obj
def batch(
    settings: _Settings,
    /,
    file: Path,
    out_dir: str,
    input_format: str,
    concurrency: int,
    fail_fast: bool,
    progress: bool | None,
    as_json: bool,
    **request: Any,
) -> None:
    """Generate an image for every prompt in FILE (or - for stdin) into DIR, resumably."""
    source = _PromptSource.from_argument(file, input_format)
    items = _batch_items(source)
    defaults = _params(**request)
    total = len(items) if isinstance(items, _SizedItems) else None
    tally = _Tally()
    with settings.client() as client, _ProgressView(total, progress) as view:
        outcomes = generate_many_sync(
            client,
            items,
            concurrency=concurrency,
            fail_fast=fail_fast,
            output_dir=out_dir,
            on_progress=view.update,
            defaults=defaults,
        )
        try:
            for outcome in outcomes:
                line = items.line_of_next_outcome()
                if isinstance(outcome, BatchError):
                    tally.failed.append(outcome.index)
                    where = f"item {outcome.index} ({source.short_name}:{line})"
                    message = (
                        _validation_message(outcome.exception)
                        if isinstance(outcome.exception, ValidationError)
                        else cli_words(_one_line(outcome.exception))
                    )
                    view.log(settings.scrub(f"{where}: {message}"))
                    if isinstance(outcome.exception, AuthenticationError | PermissionDeniedError):
                        # Every other item would fail the same way: stop here.
                        raise outcome.exception
                elif isinstance(outcome, BatchSkipped):
                    tally.skipped += 1
                else:
                    tally.generated += 1
        except KeyboardInterrupt:
            view.close()
            raise _Interrupted(
                f"interrupted: {tally.counts()} in {tally.elapsed():.1f} s; finished images "
                f"are in {out_dir}; run the same command again to resume"
            ) from None
        finally:
            close = getattr(outcomes, "close", None)
            if callable(close):
                close()
    elapsed = tally.elapsed()
    summary = {
        "total": tally.total,
        "generated": tally.generated,
        "skipped": tally.skipped,
        "failed": len(tally.failed),
        "failed_items": tally.failed,
        "seconds": round(elapsed, 3),
        "generated_per_second": round(tally.generated / elapsed, 3) if elapsed > 0 else 0.0,
        "output_dir": str(out_dir),
        "input_error": None if items.input_error is None else items.input_error.message,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"{tally.counts()} in {elapsed:.1f} s -> {out_dir}")
    if items.input_error is not None:
        # After the summary: what ran is on disk; fix the line and run again to go on.
        raise items.input_error
    if tally.failed:
        raise click.exceptions.Exit(EXIT_PARTIAL)


def _output_dir(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A URL as it is; a local path checked by Click (not a file, and so on)."""
    if "://" in value and not value.startswith("file://"):
        return value
    checked = click.Path(file_okay=False).convert(value.removeprefix("file://"), param, ctx)
    return str(checked)


@attrs.define
class _Tally:
    """The batch's outcomes so far, in the one vocabulary of text and JSON."""

    generated: int = 0
    skipped: int = 0  # already done by an earlier run
    failed: list[int] = attrs.field(factory=list)
    started: float = attrs.field(factory=time.monotonic)

    @property
    def total(self) -> int:
        return self.generated + self.skipped + len(self.failed)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def counts(self) -> str:
        return f"{self.generated} generated, {self.skipped} skipped, {len(self.failed)} failed"


class _Interrupted(click.ClickException):
    """Ctrl-C during a batch: the message gives the counts; exits 130."""

    exit_code = EXIT_INTERRUPTED

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True)


# Off a terminal, a progress line at least this often, and at every this fraction.
QUIET_PROGRESS_SECONDS = 10.0
QUIET_PROGRESS_FRACTION = 0.05


def progress_line(snapshot: BatchProgress) -> str:
    """One plain progress line: counts, rate (generated items only) and ETA."""
    total = "?" if snapshot.total is None else str(snapshot.total)
    share = f" ({snapshot.finished / snapshot.total:.0%})" if snapshot.total else ""
    eta = "" if snapshot.eta is None else f", ETA {_duration(snapshot.eta)}"
    return (
        f"batch: {snapshot.finished}/{total}{share}: {snapshot.generated} generated, "
        f"{snapshot.skipped} skipped, {snapshot.failed} failed; "
        f"{snapshot.rate:.2f} generated/s{eta}"
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class _ProgressView:
    """A rich progress bar on a terminal; plain lines on stderr otherwise (CI logs)."""

    def __init__(self, total: int | None, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._last: BatchProgress | None = None
        self._printed_at = time.monotonic()
        self._printed_finished = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._ticked = False  # a time-based line was printed

    def __enter__(self) -> _ProgressView:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[skipped]} skipped"),
                TextColumn("{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("batch", total=self.total, failed=0, skipped=0, rate="")
        else:
            self._ticker = threading.Thread(target=self._tick, name="batch-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(*exc_info)

    def close(self, *exc_info: object) -> None:
        self._stop.set()
        with self._lock:
            printed_before = self._printed_finished > 0 or self._ticked
            last = self._last
            if printed_before and last is not None and last.finished > self._printed_finished:
                self._print_locked()  # the last line shows where the batch ended
        if self._bar is not None:
            bar, self._bar = self._bar, None
            if self.total is None:
                # Standard input: the total is known only now; the last frame shows it.
                bar.update(self._task, total=bar.tasks[0].completed)
            bar.__exit__(*(exc_info or (None, None, None)))

    def update(self, snapshot: BatchProgress) -> None:
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=snapshot.finished,
                failed=snapshot.failed,
                skipped=snapshot.skipped,
                rate=f"{snapshot.rate:.2f} generated/s",
            )
            return
        with self._lock:
            self._last = snapshot
            step = max(1, round((snapshot.total or 0) * QUIET_PROGRESS_FRACTION))
            if snapshot.total and snapshot.finished - self._printed_finished >= step:
                self._print_locked()

    def _tick(self) -> None:
        # The time-based line: even when no item finishes for a while, CI logs see life.
        while not self._stop.wait(min(1.0, QUIET_PROGRESS_SECONDS / 4)):
            with self._lock:
                if time.monotonic() - self._printed_at >= QUIET_PROGRESS_SECONDS:
                    self._ticked = True
                    self._print_locked()

    def _print_locked(self) -> None:
        snapshot = self._last
        if snapshot is None:
            snapshot = BatchProgress(0, 0, 0, self.total, 0.0, 0.0, None)
        self._printed_at = time.monotonic()
        self._printed_finished = snapshot.finished
        click.echo(progress_line(snapshot), err=True)

    def log(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line, err=True)


# --- models ---


@cli.command(
    epilog="""\b
Examples:
  nebula-images models
  nebula-images models --type Image --json
"""
)
@click.option("--type", "model_type", help="Only models of this type, e.g. Image.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_obj
def models(settings: _Settings, model_type: str | None, as_json: bool) -> None:
    """List the serverless models (image, text and others) with their prices."""
    with settings.client() as client:
        listed = client.models.list()
    if model_type:
        listed = [m for m in listed if m.type.lower() == model_type.lower()]
    if as_json:
        click.echo(json.dumps([attrs.asdict(m) for m in listed], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("model", no_wrap=True)  # ids stay whole, to copy into --model
    table.add_column("alias")
    table.add_column("type")
    table.add_column("price (USD)", justify="right")
    table.add_column("description", ratio=1)
    for m in listed:
        price = "" if m.price is None else f"{m.price:g}"
        table.add_row(m.name, m.alias or "", m.type, price, m.description or "")
    Console(width=max(100, _terminal_width())).print(table)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


# --- mock ---


@cli.command(
    context_settings={"ignore_unknown_options": True},
    epilog="""\b
Other options go to the mock as they are (see `python -m nebula_images.testing -h`):
--latency S, --rate-limit N, --rate-limit-per-day N, --tier NAME (the vendor's
account tiers: entry/tier1 .. tier5), --inference-time-factor F, --keys K...

\b
Examples:
  nebula-images mock --port 8080
  nebula-images mock --tier entry      # 60 requests a minute, 200 a day, per key
  NEBULA_BASE_URL=http://127.0.0.1:8080/api/v1 NEBULA_API_KEY=ak_mock_0123456789 \\
      nebula-images generate "a red fox" -o fox.png
""",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.argument("mock_args", nargs=-1, type=click.UNPROCESSED)
def mock(port: int, host: str, mock_args: tuple[str, ...]) -> None:
    """Serve the local mock API (needs the 'mock' extra) until Ctrl-C."""
    try:
        from .testing import __main__ as mock_main
    except ImportError as exc:
        raise CLIInputError(
            f"the mock needs the 'mock' extra: pip install 'nebula-images[mock]' ({exc})"
        ) from None
    code = mock_main.main(["--port", str(port), "--host", host, *mock_args])
    if code:
        raise click.exceptions.Exit(code)


# --- entry point ---


def _wants_json(argv: Sequence[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _show_error(exc: click.ClickException, as_json: bool) -> None:
    """One line on stderr: ``error: ...``, or a JSON object with ``--json``."""
    if isinstance(exc, _Interrupted):
        message = exc.format_message()
    elif isinstance(exc, click.UsageError):
        # Click's own usage errors, without its usage block: one line, the option named.
        message = exc.format_message().rstrip(".")
        command = exc.ctx.command_path if exc.ctx is not None else "nebula-images"
        message = f"{message} (see {command} --help)"
    else:
        message = exc.format_message()
    if as_json:
        kind = (
            "interrupted"
            if isinstance(exc, _Interrupted)
            else ("usage" if exc.exit_code == EXIT_USAGE else "api")
        )
        click.echo(
            json.dumps({"error": {"type": kind, "message": message, "exit_code": exc.exit_code}}),
            err=True,
        )
    elif isinstance(exc, _Interrupted):
        click.echo(message, err=True)
    else:
        click.echo(f"error: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the CLI and exit with its code (130 on Ctrl-C)."""
    cli.main(args=argv, prog_name="nebula-images")
    sys.exit(EXIT_OK)  # cli.main exits itself; this line is for the type checker
