"""No secret ever shows: not in an exception, a repr, a log record, a transcript or the journal.

A property test over option names and URL shapes: a secret put anywhere in a channel or
journal URL (user information, any query option, the fragment, the whole text, a value in
the wrong field) is refused or masked everywhere it could surface. Then the configs that
hold secrets on purpose (WeChat Pay's APIv3 key, the ZVT password, Alipay's private key).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.channels.base import Capabilities, Channel, ChannelContext
from paychannels.cli.main import main
from paychannels.drivers.zvt.client import ClientConfig
from paychannels.journal import open_journal
from paychannels.observe.logs import JsonFormatter
from paychannels.security.masking import is_secret_name, redact_url, scrub
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.terminal import TerminalSimulator
from paychannels.values.errors import NotSentError, OutcomeUnknownError, PaychannelsError
from paychannels.values.idnumbers import with_check_digit
from paychannels.values.models import Outcome, Payment, Record, Refund
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys

SCHEMES = [
    "zvt+tcp", "zvt+serial", "mispos+tcp", "nexo+https", "wechatpay+https", "alipay+https",
    "memory", "bankfile+dir", "sqlite", "postgresql", "serial", "tcp",
]  # fmt: skip
NAMES = [
    "password", "pwd", "app_private_key", "client_secret", "access_token", "refresh_token",
    "apiv3_key", "api_key", "apikey", "token", "secret", "private_key", "hmac_key", "sslpassword",
    "mchid", "appid", "app_id", "t3", "receipts", "charset", "currency", "default", "baudrate",
    "format", "synchronous", "options", "notify_url", "poiid", "foo",
]  # fmt: skip
SHAPES = [
    "{scheme}://{s}@127.0.0.1:9/x",
    "{scheme}://user:{s}@127.0.0.1:9/x",
    "{scheme}://127.0.0.1:9/x?{name}={s}",
    "{scheme}://127.0.0.1:9/x?ok=1&{name}={qs}",
    "{scheme}:///tmp/x.db?{name}={s}",
    "{scheme}://127.0.0.1:9/x#{s}",
    "{scheme}://[{s}/x",
    "{scheme}:/{s}",
    "{s}",
    "{scheme}://127.0.0.1:{s}/x",
]
secrets = st.text(string.ascii_letters + string.digits + "-_", min_size=20, max_size=40).map(
    lambda t: "Zq" + t
)


def _message_form(url: str) -> str:
    return redact_url(url, message=True)


def _hidden(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, text


@contextmanager
def _logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        yield


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    secret=secrets,
    scheme=st.sampled_from(SCHEMES),
    name=st.sampled_from(NAMES) | st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True),
    shape=st.sampled_from(SHAPES),
)
@pytest.mark.slow
def test_a_secret_anywhere_in_a_url_never_shows(
    secret: str, scheme: str, name: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = shape.format(scheme=scheme, s=secret, qs=quote(secret), name=name)
    with _logs(caplog):
        for opener in (parse_url, open_channel, open_journal, _message_form):
            try:
                result = opener(url)
            except (PaychannelsError, TypeError) as exc:
                _hidden(secret, str(exc), repr(exc))
                continue
            shown = [repr(result)]
            if isinstance(result, str):
                shown.append(result)
            for attr in ("url", "raw", "describe"):
                value = getattr(result, attr, None)
                shown.append(str(value() if callable(value) else value))
            _hidden(secret, *shown)
            close = getattr(result, "close", None)
            if callable(close):
                close()
        _hidden(secret, *(r.getMessage() for r in caplog.records))
    # the usable form (journal.url) keeps a user name and plain options, never a password
    # or a secret-named option
    if shape.startswith("{scheme}://user:") or ("{name}" in shape and is_secret_name(name)):
        _hidden(secret, redact_url(url))


def test_a_postgres_password_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Zq" + "pw7Hs9dK2mX4vB8nQ1"
    for url in (
        f"postgresql://postgres:{secret}@127.0.0.1:9/x",
        f"postgresql://postgres@127.0.0.1:9/x?password={secret}",
        f"postgresql://postgres@127.0.0.1:9/x?sslmode=disable&password={secret}&x=1",
    ):
        with _logs(caplog), pytest.raises(PaychannelsError) as info:
            Collector.open(url)
        _hidden(secret, str(info.value), *(r.getMessage() for r in caplog.records))
        assert redact_url(url).count("***") == 1


def test_the_journal_url_of_a_password_url_is_masked(pg_url: str) -> None:
    secret = "Zq" + "unusedByTrustAuth42x"
    base, _, query = pg_url.partition("?")
    user, _, rest = base.partition("@")
    with_pw = f"{user}:{secret}@{rest}?{query}&password={secret}"
    journal = open_journal(with_pw, create=True)  # the test server trusts local connections
    try:
        _hidden(secret, journal.url, repr(journal))
        assert "***" in journal.url
    finally:
        journal.close()


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.mark.slow
def test_configs_that_hold_secrets_never_show_them(
    keys: SimKeys, caplog: pytest.LogCaptureFixture
) -> None:
    apiv3 = keys.wechat_options()["apiv3_key"]
    wx = open_channel(
        f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}",
        notify_url="https://example.org/n",
        **keys.wechat_options(),
    )
    codec = wx.codec  # type: ignore[attr-defined]
    _hidden(str(apiv3), repr(codec.config), repr(wx), wx.describe(), repr(vars(codec)))
    assert "123456" not in repr(ClientConfig(password=123456))
    api_key, notify = "Zq" + "NexoApiKey0123456789", "Zq" + "NexoNotifySecret98765"
    cloud = open_channel(
        "nexo+https://cloud.example.org/sync?poi=P400Plus-1", api_key=api_key, notify_secret=notify
    )
    _hidden(api_key, repr(cloud), cloud.describe())
    _hidden(notify, repr(cloud), cloud.describe())
    zvt = open_channel("zvt+tcp://127.0.0.1:9", password="123456")
    _hidden("123456", repr(zvt), zvt.describe(), repr(getattr(zvt, "client", "")))


@pytest.mark.parametrize(
    "field", ["mchid", "appid", "merchant_serial", "public_key_id", "notify_url"]
)
def test_a_key_pasted_into_the_wrong_field_is_not_echoed(keys: SimKeys, field: str) -> None:
    apiv3 = str(keys.wechat_options()["apiv3_key"])
    options = {**keys.wechat_options(), "notify_url": "https://example.org/n", field: apiv3}
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}"
    if field in ("mchid", "appid"):
        url = url.replace(f"{field}={getattr(keys, field)}", f"{field}={apiv3}")
        options.pop(field)
    try:
        wx = open_channel(url, **options)
    except PaychannelsError as exc:
        _hidden(apiv3, str(exc))
    else:
        _hidden(apiv3, repr(wx), wx.describe())


@pytest.mark.parametrize("name", ["app_private_key", "client_secret", "access_token"])
def test_scrub_knows_every_secret_name(name: str) -> None:
    secret = "Zq" + "S3cr3tValue0123456789"
    for text in (f"{name}={secret}", f'"{name}": "{secret}"', f"https://h/p?{name}={secret}&x=1"):
        _hidden(secret, scrub(text))


def test_the_terminal_password_is_in_no_transcript_log_or_journal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = "741852"
    sim = TerminalSimulator(password=int(password), card="6222021234567890123", t2=0.3)
    host, port = sim.serve_tcp("127.0.0.1", 0)
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True)
    transcript = tmp_path / "transcript.txt"
    try:
        with caplog.at_level(logging.DEBUG):
            channel = col.add_channel(
                "hall", f"zvt+tcp://{host}:{port}?t3=0.5&t4=2", password=password,
                transcript=transcript,
            )  # fmt: skip
            paid = col.collect(
                PaymentRequest(
                    payer_id="p-1", amount=Money("3.80", "CNY"), reference="r",
                    idempotency_key="k-1",
                ),
                channel="hall",
            )  # fmt: skip
        assert paid.status is Status.SUCCEEDED
        shown = [repr(channel), channel.describe(), *(r.getMessage() for r in caplog.records)]
        shown += [repr(e) for e in col.events(after=0)]
        col.close()
        shown.append(transcript.read_text("utf-8"))
        _hidden(password, *shown)
        _hidden("74 18 52", *shown)  # the password as BCD on the wire
    finally:
        sim.close()


def test_the_cli_never_prints_a_journal_password(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "Zq" + "CliNeverPrintsThis99"
    for url in (
        f"postgresql://postgres:{secret}@127.0.0.1:9/x",
        f"postgresql://postgres@127.0.0.1:9/x?password={secret}",
    ):
        code = main(["journal", "list", "--db", url])
        out = capsys.readouterr()
        assert code != 0
        _hidden(secret, out.out, out.err)


def test_a_refused_second_attempt_names_no_full_id_number(journal_url: str) -> None:
    """The one-open-attempt and already-paid refusals name the payment, never the payer's
    whole resident ID (it reaches the caller's logs and the cashier's screen)."""
    from paychannels.channels.memory import MemoryChannel
    from paychannels.values.errors import AlreadyInDoubt

    payer = "150422199001011234"
    with Collector.open(journal_url, create=True) as col:
        device = col.add_channel("dev", MemoryChannel())
        assert isinstance(device, MemoryChannel)
        device.script("pending", "approve")

        def attempt(key: str) -> None:
            col.collect(
                PaymentRequest(
                    payer_id=payer,
                    amount=Money("380.00", "CNY"),
                    reference="2026-pension",
                    idempotency_key=key,
                ),
                channel="dev",
            )

        attempt("k1")  # PENDING: open
        with pytest.raises(AlreadyInDoubt) as doubt:
            attempt("k2")
        _hidden(payer, str(doubt.value), repr(doubt.value))
        assert "150422" in str(doubt.value)  # masked, still recognisable


class _CodeTill(Channel):
    """A provider double for the verb lines: takes the scanned code, answers as scripted."""

    capabilities = Capabilities(inquire=True, refund=True, void=True)

    def __init__(self) -> None:
        self.answers: list[str] = []

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        code = ctx.take_payment_code()
        if code is None:
            raise NotSentError("the payment code is no longer held; scan again")
        ctx.progress(f"code {code} sent")  # the masked form only
        if self.answers and self.answers.pop(0) == "lost":
            raise OutcomeUnknownError(f"no answer for code {code}")
        return Outcome.succeeded(channel_ref=f"T-{payment.id}")

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        return Outcome.succeeded(channel_ref=f"T-{record.id}")

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        return Outcome.succeeded(channel_ref=f"R-{refund.id}")

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return Outcome(status=Status.REVERSED, channel_ref=f"V-{payment.id}")


_codes = st.one_of(
    st.from_regex(r"1[0-5][0-9]{16}", fullmatch=True),  # WeChat Pay: 18 digits
    st.from_regex(r"(2[5-9]|30)[0-9]{14,22}", fullmatch=True),  # Alipay: 16 to 24
)
_id_numbers = st.from_regex(
    r"[1-6][0-9]{5}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])[0-2][1-9][0-9]{3}", fullmatch=True
).map(with_check_digit)  # 17 digits (region, birth date, sequence) and the check character
_seen_keys = itertools.count()


@pytest.fixture(scope="module")
def verb_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    path = tmp_path_factory.mktemp("verbs") / "j.db"
    with Collector.open(f"sqlite:///{path}", create=True) as col:
        col.add_channel("till", _CodeTill())
        yield col


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    code=_codes,
    id_number=_id_numbers,
    lost=st.booleans(),
    then=st.sampled_from(["refund", "cancel"]),
)
@pytest.mark.slow
def test_the_verb_lines_never_show_a_payment_code_or_an_id_number(
    code: str,
    id_number: str,
    lost: bool,
    then: str,
    verb_collector: Collector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every verb (collect, inquiry, recovery, refund, cancel), as text and as JSON lines,
    with the payer an ID number and the request carrying a scanned code."""
    col = verb_collector
    till = col.channel("till")
    assert isinstance(till, _CodeTill)
    till.answers = ["lost"] if lost else []
    n = next(_seen_keys)
    stream = io.StringIO()
    as_json = logging.StreamHandler(stream)
    as_json.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(as_json)
    try:
        with _logs(caplog):
            paid = col.collect(
                PaymentRequest(
                    payer_id=id_number, amount=Money("380.00", "CNY"), reference=f"2026-{n}",
                    idempotency_key=f"v-{n}", payment_code=code,
                ),
                channel="till",
            )  # fmt: skip
            col.recover()
            assert col.status(paid.id).status is Status.SUCCEEDED
            col.refund(paid.id) if then == "refund" else col.cancel(paid.id)
            verbs = [r for r in caplog.records if hasattr(r, "paychannels")]
            assert len(verbs) >= 3  # collect, recover (and an inquiry if lost), refund/cancel
            shown = [*(r.getMessage() for r in caplog.records), caplog.text, stream.getvalue()]
            shown += [repr(r.__dict__) for r in caplog.records]
    finally:
        logging.getLogger().removeHandler(as_json)
    for line in stream.getvalue().splitlines():
        json.loads(line)
    for secret in (code, code[2:-4], id_number, id_number[6:14]):
        _hidden(secret, *shown)
