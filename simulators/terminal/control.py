"""The simulator's control API: local HTTP (127.0.0.1) to steer it and read its truth.

``GET /truth`` the journal, totals and state; ``POST /script`` queue scripts for the next
transactions (an object or a list; see ``script.Script``); ``POST /default`` change the
default script; ``POST /rules`` replace the rules (``[{"kind", "min_amount", "max_amount",
"script"}]``); ``POST /reset`` drop scripts and rules; ``POST /power {"off_for": 2}``;
``POST /line {"mode": "mute"}``; ``POST /terminal {"status_code": 81}`` (``"online": false``
takes it off its cloud); ``POST /tag
{"tag": "..."}`` label the next booking command. Errors answer 400 with ``{"error": ...}``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from paychannels.simulators.terminal.core import LINE_MODES, SimTerminal
from paychannels.simulators.terminal.script import FAULTS, OUTCOMES, Rule, Script

__all__ = ["ControlServer"]

MAX_BODY = 64 * 1024


def _apply(terminal: SimTerminal, path: str, body: Any) -> Any:
    """Carry out one POST; returns what to answer."""
    match path:
        case "/script":
            items = body if isinstance(body, list) else [body]
            terminal.scripts.push(*(Script.from_json(i) for i in items))
            return {"queued": terminal.scripts.pending()}
        case "/default":
            terminal.scripts.default = Script.from_json(body)
            return {"default": terminal.scripts.default.to_json()}
        case "/rules":
            rules = [
                Rule(
                    Script.from_json(r.get("script", {})),
                    r.get("kind"),
                    r.get("min_amount"),
                    r.get("max_amount"),
                )
                for r in body
            ]
            terminal.scripts.rules[:] = rules
            return {"rules": len(rules)}
        case "/reset":
            terminal.scripts.clear()
            terminal.scripts.default = replace(Script())
            return {"reset": True}
        case "/power":
            terminal.power_cycle(float(body.get("off_for", 1.0)))
            return {"powered": terminal.powered}
        case "/line":
            mode = body.get("mode")
            if mode not in LINE_MODES:
                raise ValueError(f"mode must be one of {', '.join(LINE_MODES)}")
            terminal.line_mode = mode
            return {"line_mode": mode}
        case "/terminal":
            if "status_code" in body:
                terminal.status_code = int(body["status_code"])
            if body.get("unregister"):
                terminal.registered = False
            if "online" in body:
                terminal.online = bool(body["online"])
            return {
                "status_code": terminal.status_code,
                "registered": terminal.registered,
                "online": terminal.online,
            }
        case "/tag":
            terminal.tag_next(str(body["tag"]))
            return {"tagged": body["tag"]}
    raise LookupError(path)


class _Handler(BaseHTTPRequestHandler):
    terminal: SimTerminal

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/truth":
            self._reply(200, self.terminal.truth())
        elif self.path == "/help":
            self._reply(200, {"outcomes": OUTCOMES, "faults": FAULTS, "line_modes": LINE_MODES})
        else:
            self._reply(404, {"error": f"no {self.path}; try /truth or /help"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"error": "body too large"})
            return
        try:
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw or b"{}")
            self._reply(200, _apply(self.terminal, self.path, body))
        except LookupError:
            self._reply(404, {"error": f"no {self.path}; see GET /help"})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._reply(400, {"error": str(exc)})


class ControlServer:
    """Serves the control API in a background thread."""

    def __init__(self, terminal: SimTerminal, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the control API listens on 127.0.0.1 only")
        handler = type("Handler", (_Handler,), {"terminal": terminal})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host, self.port = str(self.httpd.server_address[0]), int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> str:
        self._thread.start()
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
