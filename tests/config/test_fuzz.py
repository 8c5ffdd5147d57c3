"""Whatever a person writes in ``paychannels.toml``, reading it ends in a checked deployment or a
``ConfigFileError`` naming the file — never another exception, never a secret echoed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.config import ConfigFileError, parse_config

SECRET = "s3cret-value-never-shown"
HEADERS = [
    "[journal]",
    "[county]",
    "[callbacks]",
    "[janitor]",
    "[channels.a]",
    "[channels.b-2]",
    "[channels]",
    "[[channels]]",
    "[channels.a.x]",
    "[other]",
    "[journal.x]",
]
KEYS = [
    "url",
    "create",
    "zone",
    "listen",
    "prefix",
    "workers",
    "interval",
    "password",
    "key",
    "bills_at",
    "end_of_day_at",
    "results_at",
    "reports_at",
    "transcript",
    "apiv3_key",
    "x",
    '"quoted key"',
    "a.b",
]
VALUES = [
    '"sqlite:///j.db"',
    '"postgresql://u:pw@h/db"',
    '"zvt+tcp://h:1"',
    '"memory://"',
    '"wechatpay+https://x?mchid=1"',
    '"bankfile+dir:///x?format=pain008"',
    "true",
    "1",
    "-3",
    "2.5",
    "nan",
    "inf",
    '"10:00"',
    '"25:61"',
    "10:00:00",
    "2026-01-01",
    "1979-05-27T07:32:00Z",
    '"60s"',
    '"1h30m"',
    '"0s"',
    '"Asia/Shanghai"',
    '"Nope/Zone"',
    '"127.0.0.1:8080"',
    '"[::1]:0"',
    '"/cb"',
    '"cb"',
    "[]",
    '["10:00", 3]',
    "{}",
    '{ env = "T_FUZZ_UNSET" }',
    '{ env = "" }',
    '{ file = "missing.pem" }',
    "{ file = 3 }",
    '{ env = "A", file = "b" }',
    f'"{SECRET}"',
    "{ a = { b = 1 } }",
]


def line() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HEADERS),
        st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
        st.text(max_size=20),
    )


def check(text: str, base: Path) -> None:
    said = "fuzz.toml: read"
    try:
        parse_config(text, source="fuzz.toml", base=base)
    except ConfigFileError as exc:  # anything else fails the test
        said = str(exc)
    assert said.startswith("fuzz.toml") and SECRET not in said


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(line(), max_size=12))
def test_toml_made_of_our_words_fails_only_typed(tmp_path: Path, lines: list[str]) -> None:
    check("\n".join(lines), tmp_path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_text_fails_only_typed(tmp_path: Path, text: str) -> None:
    check(text, tmp_path)


def test_no_key_echoes_a_value_written_at_it(tmp_path: Path) -> None:
    for header in HEADERS:
        for key in KEYS:
            check(f'{header}\n{key} = "{SECRET}"\n', tmp_path)
            check(
                f'[channels.a]\nurl = "zvt+tcp://h:1"\n{header}\n{key} = ["{SECRET}"]\n', tmp_path
            )


def test_values_nested_beyond_reason_are_a_typed_error(tmp_path: Path) -> None:
    for text in (
        "a = " + "[" * 5000 + "]" * 5000,
        "a = " + "{b=" * 3000 + "1" + "}" * 3000,
        '[channels.a]\nurl = "memory://"\nx = ' + "[" * 900 + "]" * 900,
    ):
        check(text, tmp_path)
