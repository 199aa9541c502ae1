"""A clinic menu bot on the Python `evolutionapi` client (Evolution API v2), run unchanged
against the harness's Evolution simulator: the client is pointed there by its base URL only.
Webhooks (`messages.upsert`, as the Evolution server posts them) arrive on a standard-library
HTTP server; replies go through the client's send_list / send_buttons / send_text, media is
read with chat.get_base64_from_media_message and checked against the webhook's fileSha256.

Environment: SIM_URL, BOT_PORT, API_KEY.
"""

import base64
import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from evolutionapi.client import EvolutionClient
from evolutionapi.models.message import (
    BaseMessage,
    Button,
    ButtonMessage,
    ListMessage,
    ListRow,
    ListSection,
    TextMessage,
)

client = EvolutionClient(base_url=os.environ["SIM_URL"], api_token=os.environ["API_KEY"])
KEY = os.environ["API_KEY"]


def text(instance, number, body):
    client.messages.send_text(instance, TextMessage(number=number, text=body), KEY)


def menu(instance, number):
    rows = [
        ListRow(title="Cardiología", description="Consulta", rowId="cardio"),
        ListRow(title="Dermatología", description="Consulta", rowId="derma"),
    ]
    message = ListMessage(
        number=number,
        title="Especialidades",
        description="Elija una especialidad",
        buttonText="Ver opciones",
        footerText="Clínica",
        sections=[ListSection(title="Especialidades", rows=rows)],
    )
    client.messages.send_list(instance, message, KEY)


def confirm(instance, number, row_id, title):
    buttons = [
        Button(type="reply", displayText="Sí", id=f"si:{row_id}"),
        Button(type="reply", displayText="No", id="no"),
    ]
    message = ButtonMessage(
        number=number,
        title="Clínica",
        description=f"¿Confirma {title}?",
        footer="Clínica",
        buttons=buttons,
    )
    client.messages.send_buttons(instance, message, KEY)


def as_bytes(field):
    """A Baileys bytes field as the server's JSON carries it: a base64 string, or the
    Uint8Array serialised with index keys ({"0": 12, "1": 201, …})."""
    if isinstance(field, str):
        return base64.b64decode(field)
    if isinstance(field, dict) and "data" in field:
        return bytes(field["data"])
    return bytes(field[str(i)] for i in range(len(field)))


def media(instance, number, data, kind, label):
    stated = as_bytes(data["message"][kind].get("fileSha256"))
    ref = BaseMessage(message={"key": {"id": data["key"]["id"]}}, convertToMp4=False)
    got = client.chat.get_base64_from_media_message(instance, ref, KEY)
    raw = base64.b64decode(got["base64"])
    ok = hashlib.sha256(raw).digest() == stated
    text(instance, number, f"{label} recibida: {len(raw)} bytes, sha256 {'ok' if ok else 'MISMATCH'}")


def handle(update):
    if update.get("event") != "messages.upsert":
        return
    data, instance = update["data"], update["instance"]
    key = data["key"]
    if key.get("fromMe"):
        return
    jid = key.get("remoteJidAlt") if key["remoteJid"].endswith("@lid") else key["remoteJid"]
    number = jid.split("@")[0]
    m = data.get("message") or {}
    if "conversation" in m or "extendedTextMessage" in m:
        menu(instance, number)
    elif "listResponseMessage" in m:
        row = m["listResponseMessage"]["singleSelectReply"]["selectedRowId"]
        confirm(instance, number, row, m["listResponseMessage"].get("title", row))
    elif "buttonsResponseMessage" in m or "interactiveResponseMessage" in m:
        if "buttonsResponseMessage" in m:
            chosen = m["buttonsResponseMessage"]["selectedButtonId"]
        else:
            flow = m["interactiveResponseMessage"]["nativeFlowResponseMessage"]
            chosen = json.loads(flow["paramsJson"])["id"]
        text(instance, number, f"Confirmado: {chosen[3:]}" if chosen.startswith("si:") else "Cancelado")
    elif "audioMessage" in m:
        media(instance, number, data, "audioMessage", "Nota de voz")
    elif "imageMessage" in m:
        media(instance, number, data, "imageMessage", "Imagen")
    elif "locationMessage" in m:
        loc = m["locationMessage"]
        lat, lon = loc["degreesLatitude"], loc["degreesLongitude"]
        text(instance, number, f"Ubicación recibida: {lat:.4f}, {lon:.4f}")


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        try:
            handle(json.loads(raw))
        except Exception as e:  # a bot that fails answers nothing: the scenario's await says so
            print(f"evolution bot: {e!r}", file=sys.stderr, flush=True)

    def log_message(self, *_):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["BOT_PORT"])), Webhook)
    print("evolution bot ready", flush=True, file=sys.stderr)
    server.serve_forever()
