"""The spy records both directions with timestamps, filters them, and leaves the link unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from paychannels import LinkConnectError, ProtocolError
from paychannels.links import SpyLink, Transcript, TranscriptWriter, Unit, deadline_in, open_link


class Upper:
    """A filter that proves filtering happens before the file (and can hold bytes back)."""

    def __init__(self) -> None:
        self.held = b""

    def feed(self, data: bytes) -> list[Unit]:
        self.held += data
        cut = self.held.rfind(b";") + 1
        if not cut:
            return []
        out, self.held = self.held[:cut].upper(), self.held[cut:]
        return [Unit(out, "unit")]

    def flush(self) -> list[Unit]:
        out, self.held = self.held, b""
        return [Unit(out, "tail")] if out else []


def test_spy_records_both_directions_in_order(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    spy = SpyLink(open_link("loop://", do_not_open=True), path)
    spy.open()
    spy.write(b"\x06\x01")
    assert spy.read_exactly(2, deadline=deadline_in(1)) == b"\x06\x01"
    assert spy.written == 2
    spy.close()
    spy.detach()
    t = Transcript.load(path)
    assert t.header["link"] == "loop://"
    assert [(e.direction, e.data, e.text) for e in t.entries] == [
        ("*", b"", "open"),
        (">", b"\x06\x01", ""),
        ("<", b"\x06\x01", ""),
        ("*", b"", "close"),
    ]
    times = [e.at for e in t.entries]
    assert times == sorted(times)
    assert t.stream(">") == t.stream("<") == b"\x06\x01"


def test_filters_mask_before_the_file_and_flush_on_close() -> None:
    out = io.StringIO()
    spy = SpyLink(open_link("loop://", do_not_open=True), out, filters=Upper)
    spy.open()
    spy.write(b"card 1234;")
    spy.write(b"rest")
    spy.read_exactly(14, deadline=deadline_in(1))
    spy.close()
    text = out.getvalue()
    assert b"CARD 1234;".hex() in text and "  # unit" in text
    assert b"rest".hex() in text and "  # tail" in text
    assert b"card".hex() not in text


def test_failed_open_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    spy = SpyLink(open_link("tcp://127.0.0.1:1", do_not_open=True), path)
    with pytest.raises(LinkConnectError):
        spy.open()
    spy.detach()
    assert "open failed" in path.read_text()


def test_notes_are_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    spy = SpyLink(open_link("loop://", do_not_open=True), path)
    spy.transcript.event("card 6222021234567890123\nsecond line api_key=abc")
    spy.detach()
    text = path.read_text()
    assert "6222021234567890123" not in text and "abc" not in text
    assert len(text.strip().splitlines()) == 4  # header (3) and one event line


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("nonsense", ":1", "not a paychannels transcript"),
        ("# paychannels transcript v1\n0.1 > zz", ":2", "not hex"),
        ("# paychannels transcript v1\n# link: x\nabc > 00", ":3", "not a time"),
        ("# paychannels transcript v1\n0.1 ? 00", ":2", "expected"),
    ],
)
def test_bad_transcripts_name_file_and_line(
    tmp_path: Path, body: str, where: str, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(ProtocolError, match=message) as info:
        Transcript.load(path)
    assert f"bad.txt{where}" in str(info.value)


def test_a_transcript_can_grow_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "hall-1.trace"
    for word in (b"first", b"second"):
        spy = SpyLink(
            open_link("loop://", do_not_open=True),
            TranscriptWriter(path, link="loop://", append=True),
        )
        spy.open()
        spy.write(word)
        spy.close()
        spy.detach()
    t = Transcript.load(path)
    assert t.stream(">") == b"firstsecond"
    assert [e.text for e in t.entries if e.direction == "*"] == ["open", "close", "open", "close"]
