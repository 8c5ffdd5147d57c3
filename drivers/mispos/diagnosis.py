"""Field diagnosis of a MIS-POS terminal against a profile: does the profile fit the device?

A field engineer writing a profile from a bank's interface document needs to know which of
its settings the terminal disagrees with. ``probe`` sends the harmless "query last
transaction" and reads what comes back as raw bytes, then tells: silence (cable, port,
baud rate, or a terminal that does not acknowledge), garbage (baud rate or stop bits: it
can scan), NAKs to every frame (our LRC or length is wrong: it tries the usual variants and
names the one the terminal takes), frames we cannot check (their LRC or length is written
otherwise: it finds the variant under which they are valid), or an answer whose fields do
not match (it lists the tags or fields it saw). Every finding says what to change, in the
profile or the URL. It never starts a payment.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

from paychannels.drivers.fieldcheck import Finding, explain_serial_open
from paychannels.drivers.framing import Control, Frame, Noise
from paychannels.drivers.mispos.codec import decode_fields, encode_fields, split_tlv
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.frame import MisposFraming
from paychannels.drivers.mispos.profile import FrameSpec, Profile
from paychannels.links import Link, SerialLink, SerialSettings
from paychannels.values.errors import LinkConnectError, LinkError, LinkTimeout

__all__ = ["frame_variants", "probe", "scan_baud_rates"]

_LRC_PARTS = [(), ("body", "etx"), ("length", "body", "etx"), ("stx", "length", "body", "etx")]
_LRC_PARTS += [("body",), ("length", "body")]
_SEEDS = (0x00, 0x7F, 0xFF)
_LENGTHS = [("bcd", 2), ("ascii", 4), ("binary", 2), ("none", 0)]


def frame_variants(spec: FrameSpec, *, lengths: bool = True) -> list[FrameSpec]:
    """The framings a terminal family plausibly uses: the profile's own first, then the ones
    that change the fewest of its settings (and a missing LRC, which fits anything, last)."""
    kinds = _LENGTHS if lengths else [(spec.length, spec.length_size)]
    found: list[FrameSpec] = []
    for (length, size), counts, parts, seed in itertools.product(
        kinds, ("body", "body+etx"), _LRC_PARTS, _SEEDS
    ):
        if length == "none" and ("length" in parts or counts != "body"):
            continue
        if not parts and seed:
            continue
        candidate = replace(
            spec, length=length, length_size=size, length_counts=counts, lrc=parts, lrc_seed=seed
        )
        if candidate not in found:
            found.append(candidate)

    def distance(c: FrameSpec) -> tuple[int, bool]:
        changed = (
            (c.length, c.length_size) != (spec.length, spec.length_size),
            c.length_counts != spec.length_counts,
            c.lrc != spec.lrc,
            c.lrc_seed != spec.lrc_seed,
        )
        return sum(changed), bool(spec.lrc) and not c.lrc

    found.sort(key=distance)
    if spec in found:
        found.remove(spec)
    return [spec, *found]


def _describe(spec: FrameSpec) -> str:
    length = (
        "none" if spec.length == "none" else f'"{spec.length}", length_size = {spec.length_size}'
    )
    parts = ", ".join(f'"{p}"' for p in spec.lrc)
    return (
        f'length = {length}; length_counts = "{spec.length_counts}"; lrc = [{parts}]; '
        f"lrc_seed = 0x{spec.lrc_seed:02X}"
    )


def _exchange(link: Link, wire: bytes, wait: float) -> bytes:
    """Write ``wire`` and read whatever comes within ``wait`` seconds (until quiet)."""
    link.drain()
    link.write(wire)
    got = bytearray()
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            got += link.read(4096, deadline=min(end, time.monotonic() + 0.3))
        except LinkTimeout:
            if got:
                break
    return bytes(got)


def _query_body(profile: Profile) -> bytes:
    verb = profile.verbs["query"]
    return encode_fields(profile, verb.request, {"trans_type": verb.code})


def probe(link: Link, profile: Profile, *, wait: float = 5.0) -> list[Finding]:
    """Open the link, ask for the last transaction, and say what fits and what does not."""
    try:
        link.open()
    except LinkConnectError as exc:
        if isinstance(link, SerialLink):
            return [explain_serial_open(exc)]
        hint = "Check the address and port of the terminal's LAN interface, and that it is on."
        return [Finding("link", False, f"No connection: {exc}", hint)]
    try:
        framing = MisposFraming(profile.frame)
        raw = _exchange(link, framing.encode(_query_body(profile)), wait)
        return _read(link, profile, raw)
    except LinkError as exc:
        return [Finding("link", False, f"The link failed: {exc}", "Check the cable.")]
    finally:
        link.close()


def _read(link: Link, profile: Profile, raw: bytes) -> list[Finding]:
    f = profile.frame
    data = {"bytes_received": len(raw), "sample": raw[:64].hex()}
    if not raw:
        hint = (
            "Check the cable, the port and the baud rate; make sure the terminal is in its "
            "cash-register (MIS/收银机) mode. A terminal that never acknowledges needs "
            "frame.acknowledge = false."
        )
        return [Finding("answer", False, "The terminal does not answer at all.", hint, data)]
    events = MisposFraming(f).decoder().feed(raw)
    frames = [e for e in events if isinstance(e, Frame)]
    controls = [e.byte for e in events if isinstance(e, Control)]
    good = [e for e in frames if e.valid]
    if good:
        return [
            Finding("framing", True, "The terminal's frames fit the profile.", data=data),
            _fields(profile, good[-1].payload),
        ]
    if frames or bytes([f.stx]) in raw:  # frames that do not check, or never end for us
        problem = frames[0].problem if frames else "no frame ends where the profile says"
        fitted = _fit_their_frames(profile, raw, problem, data)
        if frames or fitted.hint.startswith("Set in [frame]"):
            return [fitted]
    if controls and all(c == f.nak for c in controls):
        return [_fit_our_frames(link, profile, data)]
    if all(isinstance(e, Noise) for e in events):
        hint = (
            "Bytes arrive but never form a frame: the baud rate or stop bits differ from the "
            "terminal's (try --scan), or it speaks another protocol (ZVT frames start 10 02)."
        )
        return [Finding("framing", False, "The line carries garbled bytes.", hint, data)]
    hint = "The terminal acknowledged but sent no answer frame within the wait; raise --wait."
    return [Finding("answer", False, "No answer frame came.", hint, data)]


def _fields(profile: Profile, body: bytes) -> Finding:
    verb = profile.verbs["query"]
    try:
        fields = decode_fields(profile, verb.response, body)
    except MisposFormatError as exc:
        seen = ""
        if profile.body.codec == "tlv":
            try:
                seen = ", ".join(t.hex().upper() for t, _ in split_tlv(profile.body, body))
            except MisposFormatError:
                seen = "(the body is not TLV with this tag and length size)"
        hint = "Compare the query response's fields in [verbs.query] with the bank's document" + (
            f"; tags in the answer: {seen}" if seen else ""
        )
        return Finding(
            "fields",
            False,
            f"The answer does not fit the profile: {exc}.",
            hint,
            {"body": body[:128].hex()},
        )
    result = profile.result.field
    if fields.get(result) is None:
        spec = profile.fields[result]
        where = f"tag {spec.tag.hex().upper()}" if spec.tag else "its place"
        unknown = ", ".join(fields.unknown) or "none"
        hint = (
            f"The answer has no {result} at {where}; tags the profile does not name: {unknown}. "
            f"Fix [fields] {result} from the bank's document."
        )
        return Finding(
            "fields", False, f"The answer carries no {result}.", hint, {"fields": fields.values}
        )
    text = ", ".join(f"{k}={v}" for k, v in fields.values.items() if k != "print_text")
    extra = (
        f"; tags the profile does not name: {', '.join(fields.unknown)}" if fields.unknown else ""
    )
    return Finding(
        "fields",
        True,
        f"Query last transaction answered: {text}{extra}.",
        data={"fields": fields.values},
    )


def _fit_their_frames(
    profile: Profile, raw: bytes, problem: str, data: dict[str, object]
) -> Finding:
    for spec in frame_variants(profile.frame):
        if any(isinstance(e, Frame) and e.valid for e in MisposFraming(spec).decoder().feed(raw)):
            hint = f"Set in [frame]: {_describe(spec)}."
            text = (
                f"The terminal's frames do not check with the profile ({problem}); they do "
                "with another framing."
            )
            return Finding("framing", False, text, hint, data)
    hint = "No usual length or LRC setting fits: compare [frame] with the bank's document."
    return Finding("framing", False, f"The terminal's frames do not check ({problem}).", hint, data)


def _fit_our_frames(link: Link, profile: Profile, data: dict[str, object]) -> Finding:
    body = _query_body(profile)
    for spec in frame_variants(profile.frame, lengths=profile.frame.length != "none")[1:]:
        try:
            raw = _exchange(
                link, MisposFraming(spec).encode(body), min(1.0, profile.frame.ack_timeout)
            )
        except MisposFormatError:
            continue
        if raw[:1] == bytes([profile.frame.ack]) or any(
            isinstance(e, Frame) and e.valid for e in MisposFraming(spec).decoder().feed(raw)
        ):
            hint = f"Set in [frame]: {_describe(spec)}."
            return Finding(
                "framing",
                False,
                "The terminal refused our frames (NAK) until they were framed otherwise.",
                hint,
                data,
            )
    hint = (
        "Every frame is refused (NAK) and no usual LRC or length setting helps: check stx, "
        "etx and the length field in the bank's document."
    )
    return Finding("framing", False, "The terminal refuses our frames (NAK).", hint, data)


def scan_baud_rates(port: str, profile: Profile, *, wait: float = 1.0) -> Finding:
    """Serial only: try the usual line settings until the terminal answers in frames."""
    framing = MisposFraming(profile.frame)
    for baud, stopbits in itertools.product((9600, 19200, 38400, 57600, 115200), ("1", "2")):
        settings = SerialSettings(baud, profile.line.bytesize, profile.line.parity, stopbits)
        link = SerialLink(port, settings)
        try:
            link.open()
        except LinkConnectError as exc:
            return explain_serial_open(exc)
        try:
            raw = _exchange(link, framing.encode(_query_body(profile)), wait)
        finally:
            link.close()
        if any(isinstance(e, Frame | Control) for e in framing.decoder().feed(raw)):
            return Finding(
                "scan",
                True,
                f"The terminal answers at {baud} baud, {stopbits} stop bit(s).",
                f"Use baudrate={baud}&stopbits={stopbits} in the URL or [line] of the profile.",
                {"baudrate": baud, "stopbits": stopbits},
            )
    hint = "Check the cable (a null-modem cable may be needed) and the terminal's mode."
    return Finding("scan", False, "No usual line setting made the terminal answer.", hint)
