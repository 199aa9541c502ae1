"""A clinic menu bot on pywa (Meta WhatsApp Cloud API), run unchanged against the harness's
Meta simulator. Only configuration points it there: an httpx session whose transport sends
Graph calls to SIM_URL (pywa fixes the session's base URL to graph.facebook.com, so the host is
rewritten on the way out; nothing in pywa is patched). Webhooks arrive on pywa's documented
custom-server hooks (webhook_challenge_handler / webhook_update_validator /
webhook_update_handler) served by the standard library.

Environment: SIM_URL, BOT_PORT, PHONE_ID, TOKEN, APP_SECRET, VERIFY_TOKEN.
"""

import base64
import hashlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
from pywa import WhatsApp, filters, types

SIM = urlsplit(os.environ["SIM_URL"])


class ToSimulator(httpx.HTTPTransport):
    """Sends every request to the simulator (scheme, host and port), path and query kept."""

    def handle_request(self, request):
        request.url = request.url.copy_with(scheme=SIM.scheme, host=SIM.hostname, port=SIM.port)
        return super().handle_request(request)


wa = WhatsApp(
    phone_id=os.environ["PHONE_ID"],
    token=os.environ["TOKEN"],
    session=httpx.Client(transport=ToSimulator(), timeout=10),
    server=None,
    verify_token=os.environ["VERIFY_TOKEN"],
    app_secret=os.environ["APP_SECRET"],
)


def hash_ok(data: bytes, stated: str) -> bool:
    digest = hashlib.sha256(data).digest()
    return stated in (digest.hex(), base64.b64encode(digest).decode())


@wa.on_message(filters.text)
def menu(_: WhatsApp, msg: types.Message):
    msg.reply_text(
        "Elija una especialidad",
        buttons=types.SectionList(
            button_title="Ver opciones",
            sections=[
                types.Section(
                    title="Especialidades",
                    rows=[
                        types.SectionRow(title="Cardiología", callback_data="cardio"),
                        types.SectionRow(title="Dermatología", callback_data="derma"),
                    ],
                )
            ],
        ),
    )


@wa.on_callback_selection()
def picked(_: WhatsApp, sel: types.CallbackSelection):
    sel.reply_text(
        f"¿Confirma {sel.title}?",
        buttons=[
            types.Button(title="Sí", callback_data=f"si:{sel.data}"),
            types.Button(title="No", callback_data="no"),
        ],
    )


@wa.on_callback_button()
def confirmed(_: WhatsApp, btn: types.CallbackButton):
    if btn.data.startswith("si:"):
        btn.reply_text(f"Confirmado: {btn.data[3:]}")
    else:
        btn.reply_text("Cancelado")


@wa.on_message(filters.voice)
def voice(_: WhatsApp, msg: types.Message):
    data = msg.audio.get_bytes()
    verdict = "sha256 ok" if hash_ok(data, msg.audio.sha256) else "sha256 MISMATCH"
    msg.reply_text(f"Nota de voz recibida: {len(data)} bytes, {verdict}")


@wa.on_message(filters.image)
def image(_: WhatsApp, msg: types.Message):
    data = msg.image.get_bytes()
    verdict = "sha256 ok" if hash_ok(data, msg.image.sha256) else "sha256 MISMATCH"
    msg.reply_text(f"Imagen recibida: {len(data)} bytes, {verdict}")


@wa.on_message(filters.location)
def location(_: WhatsApp, msg: types.Message):
    loc = msg.location
    msg.reply_text(f"Ubicación recibida: {loc.latitude:.4f}, {loc.longitude:.4f}")


class Webhook(BaseHTTPRequestHandler):
    def do_GET(self):
        q = parse_qs(urlsplit(self.path).query)
        body, status = wa.webhook_challenge_handler(
            vt=q.get("hub.verify_token", [None])[0], ch=q.get("hub.challenge", [None])[0]
        )
        self.answer(status, body or "")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        refused = wa.webhook_update_validator(raw, self.headers.get("x-hub-signature-256"))
        if refused:
            return self.answer(refused[1], refused[0])
        body, status = wa.webhook_update_handler(raw)
        self.answer(status, body)

    def answer(self, status, body):
        data = str(body).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["BOT_PORT"])), Webhook)
    print("pywa bot ready", flush=True, file=sys.stderr)
    server.serve_forever()
