"""Every log line is cut to a readable length, whatever a client sent."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from api.logs import MAX_VALUE, ShortLinesFormatter, configure_logging, uvicorn_log_config

HUGE = "é" * 1_000_000


def format_record(record: logging.LogRecord) -> str:
    return ShortLinesFormatter("%(levelname)s %(message)s").format(record)


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("rapport.api", logging.ERROR, __file__, 1, msg, args, None)


def test_a_long_argument_is_cut_with_a_marker() -> None:
    line = format_record(record("time zone %r not found (request %s)", HUGE, "abc"))
    assert len(line) < MAX_VALUE + 200
    assert "…[999,000 more characters cut]" in line
    assert line.endswith("(request abc)")


def test_numbers_keep_their_format_and_the_record_stays_whole() -> None:
    original = record("%d pushes in %.1f s for %s", 3, 0.25, HUGE)
    line = format_record(original)
    assert line.startswith("ERROR 3 pushes in 0.2 s for ééé")
    assert original.args is not None
    assert original.args[2] == HUGE


def test_a_long_message_and_traceback_lines_are_cut() -> None:
    try:
        raise OSError(f"File name too long: {HUGE}")
    except OSError:
        caught = logging.LogRecord(
            "rapport.api", logging.ERROR, __file__, 1, HUGE, None, sys.exc_info()
        )
    line = format_record(caught)
    assert len(line) < 10 * MAX_VALUE
    assert all(len(part) <= MAX_VALUE + 40 for part in line.splitlines())
    assert "OSError: File name too long" in line


@pytest.fixture
def bare_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    yield root
    root.handlers, root.level = saved, level


def test_configured_logging_cuts_every_line(bare_root: logging.Logger) -> None:
    configure_logging("info")
    stream = io.StringIO()
    bare_root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("rapport.api").warning("refused %s", HUGE)
    written = stream.getvalue()
    assert "more characters cut]" in written
    assert len(written) < MAX_VALUE + 200


def test_uvicorn_lines_are_cut_too() -> None:
    config = uvicorn_log_config()
    formatter = config["formatters"]["access"]["()"](fmt=config["formatters"]["access"]["fmt"])
    path = "/graphql?query=" + "x" * 1_000_000
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 414),
        None,
    )
    line = formatter.format(access)
    assert "more characters cut]" in line
    assert line.endswith("414 Request-URI Too Long")
    assert len(line) < MAX_VALUE + 200


def test_json_logging_writes_one_short_object_a_line_and_drops_extra_fields(
    bare_root: logging.Logger,
) -> None:
    import json

    from api.jsonlog import bind_owner, bind_request, hash_owner

    configure_logging("info", "json")
    stream = io.StringIO()
    bare_root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    bind_request("req-1")
    bind_owner("0190c3a4-0000-7000-8000-000000000001")
    try:
        raise ValueError(HUGE)
    except ValueError:
        logging.getLogger("rapport.api").exception(
            "refused %s", HUGE, extra={"token": "secret-token"}
        )
    finally:
        bind_request(None)
        bind_owner(None)
    (line,) = stream.getvalue().splitlines()
    logged = json.loads(line)
    assert logged["level"] == "ERROR"
    assert logged["request_id"] == "req-1"
    assert logged["owner"] == hash_owner("0190c3a4-0000-7000-8000-000000000001")
    assert "0190c3a4" not in line
    assert "secret-token" not in line
    assert "more characters cut]" in logged["message"]
    assert len(line) < 10 * MAX_VALUE


def test_uvicorn_lines_are_json_objects_in_json_mode() -> None:
    import json

    config = uvicorn_log_config("json")
    formatter = config["formatters"]["access"]["()"]()
    path = "/graphql?query=" + "x" * 1_000_000
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 414),
        None,
    )
    logged = json.loads(formatter.format(access))
    assert logged["logger"] == "uvicorn.access"
    assert "more characters cut]" in logged["message"]
    assert len(logged["message"]) < MAX_VALUE + 200


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/calendar/Zm9vYmFyYmF6cXV4LXNlY3JldC1mZWVkLWtleQ.ics", "/calendar/Zm9v….ics"),
        ("/export/eyJvIjoiYWRhIn0.aBcDeFgHiJkLmNoP", "/export/eyJv…"),
    ],
)
def test_access_lines_keep_secret_paths_out(path: str, shown: str) -> None:
    secret = path.split("/")[2].removesuffix(".ics")
    for log_format in ("text", "json"):
        config = uvicorn_log_config(log_format)
        factory = config["formatters"]["access"]
        fmt = {"fmt": factory["fmt"]} if "fmt" in factory else {}
        formatter = factory["()"](**fmt)
        access = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", path, "1.1", 200),
            None,
        )
        line = formatter.format(access)
        assert secret not in line
        assert shown in line
