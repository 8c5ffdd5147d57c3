"""The lookup endpoint over real HTTP (uvicorn on 127.0.0.1): answers, the same 404 for a
wrong name and an unknown number, typed 400s that never echo the number, the per-client rate
limit (429 + Retry-After), and the app mounted beside the callback app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paychannels import Collector
from paychannels.callbacks import CallbackASGI
from paychannels.documents.payercheck import PayerCheck
from paychannels.lookup import ClientLimiter, LookupASGI, from_env
from paychannels.values.errors import ConfigurationError
from tests.lookup.day import check_of, lookup_day, payer
from tests.providers.support import Served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, LookupASGI]]:
    """The app behind a "proxy" at 127.0.0.1: X-Forwarded-For names each test's client."""
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    app = LookupASGI(
        check_of(day),
        limiter=ClientLimiter(burst=3, interval=0.5),
        trusted_proxies=["127.0.0.1"],
    )
    server = Served(app, proxy_headers=False)  # our trusted_proxies decide, not uvicorn's
    yield server, app
    server.close()
    day.journal.close()


def _post(server: Served, body: Any, *, client: str, **kw: Any) -> httpx.Response:
    return httpx.post(
        server.url(kw.pop("path", "/")),
        json=body,
        headers={"X-Forwarded-For": client, **kw.pop("headers", {})},
        timeout=10,
        **kw,
    )


def test_a_payer_sees_their_obligations(
    served: tuple[Served, LookupASGI], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server, _app = served
    response = _post(server, {"id_number": payer(1), "name": "张小三"}, client="10.0.0.1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["found"] and body["name"] == "张*三"
    assert [(o["state"], o["owed"], o["paid_at"]) for o in body["obligations"]] == [
        ("paid", "300.00", "2026-03-02T09:01:00+08:00"),
        ("unpaid", "400.00", None),
    ]
    assert body["message"]["mn"] and body["obligations"][0]["state_text"]["mn"] == "ᠲᠥᠯᠥᠭᠰᠡᠨ"
    assert payer(1) not in response.text and "张小三" not in response.text
    assert "lookup 10.0.0.1 POST 200" in caplog.text
    assert payer(1) not in caplog.text and "张小三" not in caplog.text


def test_a_wrong_name_answers_as_an_unknown_number(served: tuple[Served, LookupASGI]) -> None:
    server, _app = served
    wrong = _post(server, {"id_number": payer(1), "name": "张小四"}, client="10.0.0.2")
    unknown = _post(server, {"id_number": payer(99), "name": "张小三"}, client="10.0.0.2")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    assert wrong.json() == {"found": False, "message": wrong.json()["message"]}
    same = {"content-type", "content-length", "cache-control"}
    assert {k: wrong.headers[k] for k in same} == {k: unknown.headers[k] for k in same}


def test_bad_input_is_typed_and_never_echoed(served: tuple[Served, LookupASGI]) -> None:
    server, _app = served
    typo = payer(1)[:17] + ("0" if payer(1)[17] != "0" else "1")
    response = _post(server, {"id_number": typo, "name": "张小三"}, client="10.0.0.3")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["reason"]) == ("invalid_id_number", "check_digit")
    assert body["id_number"] == typo[:6] + "********" + typo[-4:] and typo not in response.text
    assert body["message"]["zh"] and body["message"]["mn"]
    for bad in ({"id_number": payer(1)}, {"id_number": 1, "name": "x"}, [payer(1)]):
        refused = _post(server, bad, client="10.0.0.4")
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_body")
        assert payer(1) not in refused.text
    empty = _post(server, {"id_number": payer(1), "name": " "}, client="10.0.0.5")
    assert (empty.status_code, empty.json()["error"]) == (400, "invalid_name")


def test_only_a_json_post_body_is_read(served: tuple[Served, LookupASGI]) -> None:
    server, _app = served
    get = httpx.get(server.url("/"), params={"id_number": payer(1)}, timeout=10)
    assert (get.status_code, get.headers["allow"]) == (405, "POST")
    query = httpx.post(server.url(f"/?id_number={payer(1)}"), json={}, timeout=10)
    assert (query.status_code, query.json()["error"]) == (400, "query_string_refused")
    form = httpx.post(server.url("/"), data={"id_number": payer(1), "name": "x"}, timeout=10)
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    big = _post(server, {"id_number": payer(1), "name": "张" * 2000}, client="10.0.0.6")
    assert (big.status_code, big.json()["error"]) == (413, "body_too_large")
    for response in (get, query, form, big):
        assert payer(1) not in response.text


def test_each_client_is_limited_on_its_own(tmp_path: Path) -> None:
    # the limiter's clock moves only when the test says: on a loaded machine five requests
    # took longer than the refill interval, and a bucket refilled between them
    now = [0.0]
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    app = LookupASGI(
        check_of(day),
        limiter=ClientLimiter(burst=3, interval=0.5, clock=lambda: now[0]),
        trusted_proxies=["127.0.0.1"],
    )
    server = Served(app, proxy_headers=False)
    try:
        ask = {"id_number": payer(99), "name": "张小三"}
        assert [_post(server, ask, client="10.1.0.1").status_code for _ in range(3)] == [404] * 3
        limited = _post(server, ask, client="10.1.0.1")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert limited.json()["error"] == "too_many_requests" and limited.json()["message"]["mn"]
        # a wrong name costs a token as well: no free guesses
        wrong = {"id_number": payer(1), "name": "x"}
        assert _post(server, wrong, client="10.1.0.1").status_code == 429
        assert _post(server, ask, client="10.1.0.2").status_code == 404  # another client
        now[0] += float(limited.headers["retry-after"])
        assert _post(server, ask, client="10.1.0.1").status_code == 404  # its bucket refilled
        assert app.limiter.refused == 2
    finally:
        server.close()
        day.journal.close()


def test_a_peer_that_is_no_proxy_cannot_choose_its_bucket(tmp_path: Path) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    app = LookupASGI(check_of(day), limiter=ClientLimiter(burst=2, interval=60))
    server = Served(app, proxy_headers=False)
    try:
        ask = {"id_number": payer(99), "name": "张小三"}
        codes = [_post(server, ask, client=f"10.2.0.{n}").status_code for n in range(4)]
        assert codes == [404, 404, 429, 429]
    finally:
        server.close()
        day.journal.close()


def test_mounted_beside_the_callback_app(tmp_path: Path) -> None:
    """One server: ``/callbacks/…`` to the callback app, ``/lookup`` to the lookup."""
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    collector = Collector.open(f"sqlite:///{tmp_path}/j.db")
    callbacks, lookup = CallbackASGI(collector), LookupASGI(check_of(day))

    async def site(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # both apps started and stopped with the server
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            callbacks.close()
            lookup.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        app = lookup if scope["path"].startswith("/lookup") else callbacks
        await app(scope, receive, send)

    server = Served(site)
    try:
        found = _post(server, {"id_number": payer(1), "name": "张小三"}, client="-", path="/lookup")
        assert found.status_code == 200 and found.json()["found"]
        callback = httpx.post(server.url("/callbacks/nosuch"), content=b"{}", timeout=10)
        assert callback.status_code == 404  # the callback app's own answer: no such channel
    finally:
        server.close()
        collector.close()
        day.journal.close()


def test_a_page_on_another_origin_may_ask_when_allowed(tmp_path: Path) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    page = "https://township.example.gov.cn"
    server = Served(LookupASGI(check_of(day), allow_origins=[page]))
    try:
        pre = httpx.options(server.url("/"), headers={"Origin": page}, timeout=10)
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == page
        assert pre.headers["access-control-allow-methods"] == "POST"
        asked = _post(server, {"id_number": payer(1), "name": "张小三"}, client="-")
        assert "access-control-allow-origin" not in asked.headers  # no Origin: no CORS
        other = _post(
            server,
            {"id_number": payer(1), "name": "张小三"},
            client="-",
            headers={"Origin": "https://elsewhere.example"},
        )
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    finally:
        server.close()
        day.journal.close()


def test_the_factory_uvicorn_starts_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``uvicorn --factory paychannels.lookup.asgi:from_env`` serves (docs/lookup.md)."""
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    index = check_of(day).index.save(tmp_path / "lookup.idx")
    monkeypatch.setenv("PAYCHANNELS_LOOKUP_KEY", bytes(range(32)).hex())
    monkeypatch.setenv("PAYCHANNELS_LOOKUP_INDEX", str(index))
    monkeypatch.setenv("PAYCHANNELS_DB", day.journal.url)
    monkeypatch.setenv("PAYCHANNELS_LOOKUP_BURST", "1")
    monkeypatch.setenv("PAYCHANNELS_LOOKUP_INTERVAL", "60")
    server = Served(from_env())
    try:
        ask = {"id_number": payer(3), "name": "王五"}
        first, second = (_post(server, ask, client="-") for _ in range(2))
        assert first.json()["obligations"][0]["state"] == "refunded"
        assert (second.status_code, second.headers["retry-after"]) == (429, "60")
    finally:
        server.close()
        day.journal.close()
    monkeypatch.setenv("PAYCHANNELS_LOOKUP_BURST", "many")
    with pytest.raises(ConfigurationError, match="BURST"):
        from_env()


class BrokenJournal:
    """A journal whose reads fail, the way a bug would: its message quotes the payer id."""

    def find(self, *, payer_id: str | None = None, limit: int = 100) -> list[Any]:
        raise RuntimeError(f"cannot read the payments of {payer_id}")

    def events(
        self, *, after: int = 0, record_id: str | None = None, limit: int = 1000
    ) -> list[Any]:
        return []


def test_failures_name_nobody(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    index = check_of(day).index
    closed = LookupASGI(PayerCheck(index, day.journal))
    broken = LookupASGI(PayerCheck(index, BrokenJournal()))
    day.journal.close()  # the journal gone: 503, asked to come back later
    ask = {"id_number": payer(1), "name": "张小三"}
    for app, status, error in ((closed, 503, "unavailable"), (broken, 500, "internal_error")):
        server = Served(app)
        try:
            response = _post(server, ask, client="-")
        finally:
            server.close()
        assert (response.status_code, response.json()["error"]) == (status, error)
        assert payer(1) not in response.text and "张小三" not in response.text
    assert "RuntimeError" in caplog.text and "JournalClosed" in caplog.text
    assert payer(1) not in caplog.text and "张小三" not in caplog.text
