"""Without the ``otel`` extra everything works and nothing of OpenTelemetry is imported.

A real child process whose import system refuses ``opentelemetry`` (as if it were not
installed) collects, refunds and recovers on a real journal with JSON logs, runs the CLI,
and only then asks for metrics: one ImportError naming the extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import importlib.abc, io, json, logging, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("opentelemetry", "prometheus_client"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())

from paychannels import Collector, Money, PaymentRequest
from paychannels.cli.main import main
from paychannels.observe.logs import JsonFormatter

stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(JsonFormatter())
logging.getLogger("paychannels").addHandler(handler)
logging.getLogger("paychannels").setLevel(logging.INFO)
url = sys.argv[1]
with Collector.open(url, create=True) as col:
    col.add_channel("hall", "memory://")
    paid = col.collect(PaymentRequest(payer_id="P1", amount=Money("1.00", "CNY"),
                                      reference="r", idempotency_key="k1"), channel="hall")
    col.refund(paid.id)
    col.recover()
code = main(["--log-format", "json", "--log-level", "info", "journal", "list", "--db", url])
refused = {}
for module in ("paychannels.observe.otel", "paychannels.observe.prometheus"):
    try:
        __import__(module)
    except ImportError as exc:
        refused[module] = str(exc)
print(json.dumps({
    "status": paid.status.value,
    "cli": code,
    "verbs": [json.loads(line).get("verb") for line in stream.getvalue().splitlines()],
    "loaded": sorted(m for m in sys.modules if m.startswith(("opentelemetry", "prometheus"))),
    "refused": refused,
}))
"""


def test_everything_works_without_the_extra_and_imports_none_of_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, f"sqlite:///{tmp_path}/j.db"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == "SUCCEEDED" and report["cli"] == 0
    assert report["verbs"] == ["collect", "refund", "recover"]
    assert report["loaded"] == []
    assert set(report["refused"]) == {"paychannels.observe.otel", "paychannels.observe.prometheus"}
    for message in report["refused"].values():
        assert "pip install 'paychannels[otel]'" in message
