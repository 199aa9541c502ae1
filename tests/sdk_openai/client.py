"""The official openai Python SDK against `harness mock openai` (tests/sdk_openai.rs).

Only the base URL and key differ from production. Prints one JSON object of what the SDK saw.
"""
import json
import os
import time

import openai

BASE, LIMITED, KEY = os.environ["BASE"], os.environ["LIMITED"], os.environ["KEY"]
SYSTEM = {"role": "system", "content": "Eres el asistente de Clínica Sol"}
HELLO = [SYSTEM, {"role": "user", "content": "Hola"}]
TOOLS = [{"type": "function", "function": {"name": "extract_booking", "parameters": {
    "type": "object", "properties": {"intent": {"type": "string"}, "day": {"type": "string"}}}}}]

out = {"sdk": openai.__version__}
c = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0)
r = c.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
out["completion"] = r.choices[0].message.content
out["usage"] = r.usage.total_tokens
parts, usage = [], None
for chunk in c.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                       stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
    if chunk.usage:
        usage = chunk.usage.total_tokens
out["stream"], out["stream_chunks"], out["stream_usage"] = "".join(parts), len(parts), usage
t = c.chat.completions.create(model="gpt-4o-mini", tools=TOOLS, messages=[
    SYSTEM, {"role": "user", "content": "quiero un turno el martes a las 10"}])
call = t.choices[0].message.tool_calls[0]
out["tool"] = {"name": call.function.name, "arguments": json.loads(call.function.arguments),
               "finish": t.choices[0].finish_reason}
out["responses"] = c.responses.create(model="gpt-4o-mini", instructions=SYSTEM["content"],
                                      input="Hola").output_text
out["embedding_dims"] = len(c.embeddings.create(model="text-embedding-3-small",
                                                input="hola").data[0].embedding)
out["transcript"] = c.audio.transcriptions.create(
    model="whisper-1", file=("voice.ogg", b"OggS..TURNO-MARTES..", "audio/ogg")).text

lc = openai.OpenAI(base_url=LIMITED, api_key=KEY, max_retries=0)
lc.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
try:
    lc.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    out["rate_limited"] = None
except openai.RateLimitError as e:
    out["rate_limited"] = {"status": e.status_code, "code": e.code,
                           "retry_after": e.response.headers.get("retry-after"),
                           "remaining": e.response.headers.get("x-ratelimit-remaining-requests")}
# With retries on, the SDK waits what retry-after says and then succeeds.
rc = openai.OpenAI(base_url=LIMITED, api_key=KEY, max_retries=2)
t0 = time.monotonic()
out["retried"] = rc.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
out["retried_after_s"] = time.monotonic() - t0
print(json.dumps(out))
