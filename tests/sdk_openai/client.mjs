// The official openai Node SDK against `harness mock openai` (tests/sdk_openai.rs).
// Only the base URL and key differ from production. Prints one JSON object of what the SDK saw.
import OpenAI, { toFile } from "openai";

const { BASE, LIMITED, KEY } = process.env;
const SYSTEM = { role: "system", content: "Eres el asistente de Clínica Sol" };
const HELLO = [SYSTEM, { role: "user", content: "Hola" }];
const TOOLS = [{ type: "function", function: { name: "extract_booking", parameters: {
  type: "object", properties: { intent: { type: "string" }, day: { type: "string" } } } } }];
const model = "gpt-4o-mini";

const out = {};
const c = new OpenAI({ baseURL: BASE, apiKey: KEY, maxRetries: 0 });
const r = await c.chat.completions.create({ model, messages: HELLO });
out.completion = r.choices[0].message.content;
out.usage = r.usage.total_tokens;
const parts = [];
let usage = null;
const stream = await c.chat.completions.create({ model, messages: HELLO, stream: true,
  stream_options: { include_usage: true } });
for await (const chunk of stream) {
  if (chunk.choices.length && chunk.choices[0].delta.content) parts.push(chunk.choices[0].delta.content);
  if (chunk.usage) usage = chunk.usage.total_tokens;
}
Object.assign(out, { stream: parts.join(""), stream_chunks: parts.length, stream_usage: usage });
const t = await c.chat.completions.create({ model, tools: TOOLS,
  messages: [SYSTEM, { role: "user", content: "quiero un turno el martes a las 10" }] });
const call = t.choices[0].message.tool_calls[0];
out.tool = { name: call.function.name, arguments: JSON.parse(call.function.arguments),
  finish: t.choices[0].finish_reason };
out.responses = (await c.responses.create({ model, instructions: SYSTEM.content, input: "Hola" })).output_text;
out.embedding_dims = (await c.embeddings.create({ model: "text-embedding-3-small", input: "hola" })).data[0].embedding.length;
const audio = await toFile(Buffer.from("OggS..TURNO-MARTES.."), "voice.ogg", { type: "audio/ogg" });
out.transcript = (await c.audio.transcriptions.create({ model: "whisper-1", file: audio })).text;

const lc = new OpenAI({ baseURL: LIMITED, apiKey: KEY, maxRetries: 0 });
await lc.chat.completions.create({ model, messages: HELLO });
try {
  await lc.chat.completions.create({ model, messages: HELLO });
  out.rate_limited = null;
} catch (e) {
  if (!(e instanceof OpenAI.RateLimitError)) throw e;
  out.rate_limited = { status: e.status, code: e.code, retry_after: e.headers.get("retry-after"),
    remaining: e.headers.get("x-ratelimit-remaining-requests") };
}
// With retries on, the SDK waits what retry-after says and then succeeds.
const rc = new OpenAI({ baseURL: LIMITED, apiKey: KEY, maxRetries: 2 });
const t0 = performance.now();
out.retried = (await rc.chat.completions.create({ model, messages: HELLO })).choices[0].message.content;
out.retried_after_s = (performance.now() - t0) / 1000;
console.log(JSON.stringify(out));
