// A clinic menu bot on whatsapp-api-js (Meta WhatsApp Cloud API), run unchanged against the
// harness's Meta simulator. Only configuration points it there: `ponyfill.fetch`, a fetch that
// sends the library's graph.facebook.com requests to SIM_URL (path and query kept). Webhooks
// arrive on the library's own node:http middleware (handle_get / handle_post, which checks
// X-Hub-Signature-256 with the app secret).
//
// Environment: SIM_URL, BOT_PORT, TOKEN, APP_SECRET, VERIFY_TOKEN.
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { WhatsAppAPI } from "whatsapp-api-js/middleware/node-http";
import {
  Text, Interactive, Body, ActionList, ListSection, Row, ActionButtons, Button,
} from "whatsapp-api-js/messages";

const sim = new URL(process.env.SIM_URL);
const toSimulator = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input);
  url.protocol = sim.protocol;
  url.host = sim.host;
  return fetch(url, init);
};

const Whatsapp = new WhatsAppAPI({
  token: process.env.TOKEN,
  appSecret: process.env.APP_SECRET,
  webhookVerifyToken: process.env.VERIFY_TOKEN,
  v: "v21.0",
  ponyfill: { fetch: toSimulator },
});

function hashOk(bytes, stated) {
  const digest = createHash("sha256").update(bytes).digest();
  return stated === digest.toString("hex") || stated === digest.toString("base64");
}

async function media(phoneID, item) {
  const info = await Whatsapp.retrieveMedia(item.id, phoneID);
  const response = await Whatsapp.fetchMedia(info.url);
  const bytes = Buffer.from(await response.arrayBuffer());
  return `${bytes.length} bytes, sha256 ${hashOk(bytes, item.sha256) ? "ok" : "MISMATCH"}`;
}

Whatsapp.on.message = async ({ phoneID, message, reply }) => {
  switch (message.type) {
    case "text":
      return reply(new Interactive(
        new ActionList("Ver opciones", new ListSection("Especialidades",
          new Row("cardio", "Cardiología"), new Row("derma", "Dermatología"))),
        new Body("Elija una especialidad"),
      ));
    case "interactive": {
      const i = message.interactive;
      if (i.type === "list_reply") {
        return reply(new Interactive(
          new ActionButtons(new Button(`si:${i.list_reply.id}`, "Sí"), new Button("no", "No")),
          new Body(`¿Confirma ${i.list_reply.title}?`),
        ));
      }
      const id = i.button_reply.id;
      return reply(new Text(id.startsWith("si:") ? `Confirmado: ${id.slice(3)}` : "Cancelado"));
    }
    case "audio":
      return reply(new Text(`Nota de voz recibida: ${await media(phoneID, message.audio)}`));
    case "image":
      return reply(new Text(`Imagen recibida: ${await media(phoneID, message.image)}`));
    case "location": {
      const { latitude, longitude } = message.location;
      return reply(new Text(`Ubicación recibida: ${latitude.toFixed(4)}, ${longitude.toFixed(4)}`));
    }
  }
};

createServer(async (req, res) => {
  if (req.method === "GET") {
    try {
      res.end(Whatsapp.handle_get(req));
    } catch (e) {
      res.statusCode = typeof e === "number" ? e : 500;
      res.end();
    }
    return;
  }
  res.statusCode = await Whatsapp.handle_post(req);
  res.end();
}).listen(Number(process.env.BOT_PORT), "127.0.0.1", () => {
  console.error("whatsapp-api-js bot ready");
});
