//! `POST /v1/chat/completions`: rules → a completion, a tool call or an error; streamed as
//! server-sent events with `data: [DONE]` when `stream: true`.
//!
//! Shapes follow openai-python's `types/chat/chat_completion.py` and
//! `chat_completion_chunk.py`: a streamed reply opens with a role chunk, sends the content (or
//! the tool call's arguments) in pieces, closes with an empty delta carrying `finish_reason`,
//! then, with `stream_options.include_usage`, a chunk with empty `choices` and the `usage`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::rules::{render, render_value, skeleton, Prompt, Reply};
use super::{add_headers, error, new_id, parse_body, require_model, tokens, unix_now, Reject, Sim};
use crate::sim::faults::{RequestInfo, StreamFaults};

/// What the assistant answers.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Output {
    Text(String),
    Tool { name: String, arguments: String },
}

impl Output {
    pub(super) fn tokens(&self) -> u64 {
        match self {
            Output::Text(t) => tokens(t),
            Output::Tool { name, arguments } => tokens(name) + tokens(arguments),
        }
    }
}

/// Text of a message `content`: a string, or the `text` parts of an array.
pub(super) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The rules' view of a chat request.
fn prompt<'a>(body: &'a Value, model: &'a str) -> Prompt<'a> {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let role = |m: &Value, r: &[&str]| r.contains(&m["role"].as_str().unwrap_or(""));
    let system: Vec<String> = messages
        .iter()
        .filter(|m| role(m, &["system", "developer"]))
        .map(|m| content_text(&m["content"]))
        .collect();
    let last_user = messages
        .iter()
        .rev()
        .find(|m| role(m, &["user"]))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    let mut tools: Vec<&str> = Vec::new();
    for t in body["tools"].as_array().into_iter().flatten() {
        tools.extend(t["function"]["name"].as_str().or(t["name"].as_str()));
    }
    for f in body["functions"].as_array().into_iter().flatten() {
        tools.extend(f["name"].as_str());
    }
    Prompt {
        model,
        system: system.join("\n"),
        last_user,
        tools,
    }
}

/// The answer of a matched (or fallback) reply; `Err` is the configured error answer.
pub(super) fn output(
    reply: &Reply,
    matched: bool,
    context: &std::collections::BTreeMap<String, String>,
    format: &Value,
) -> Result<Output, Reject> {
    if let Some(e) = &reply.error {
        let kind = e.kind.as_deref().unwrap_or(match e.status {
            429 => "requests",
            s if s >= 500 => "server_error",
            _ => "invalid_request_error",
        });
        let mut resp = error(
            e.status,
            &render(&e.message, context),
            kind,
            None,
            e.code.as_deref(),
        );
        if let Some(after) = e.retry_after {
            add_headers(&mut resp, &[("retry-after", after.to_string())]);
        }
        return Err(resp.into());
    }
    if let Some(call) = &reply.tool_call {
        let arguments = render_value(&call.arguments, context).to_string();
        return Ok(Output::Tool {
            name: call.name.clone(),
            arguments,
        });
    }
    if let Some(doc) = &reply.json {
        return Ok(Output::Text(render_value(doc, context).to_string()));
    }
    let text = render(reply.text.as_deref().unwrap_or(""), context);
    Ok(Output::Text(match format["type"].as_str() {
        Some("json_schema") if !matched => skeleton(&format["json_schema"]["schema"]).to_string(),
        Some("json_object") if !matched => json!({"reply": text}).to_string(),
        _ => text,
    }))
}

/// Estimated prompt tokens: content plus 3 per message plus 3 (the cookbook's count).
fn prompt_tokens(body: &Value) -> u64 {
    let messages = body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let content: u64 = messages
        .iter()
        .map(|m| tokens(&content_text(&m["content"])) + 3)
        .sum();
    content + 3
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

pub(super) async fn completions(State(sim): State<Sim>, body: Bytes) -> Response {
    match completion(&sim, &body).await {
        Ok(resp) => resp,
        Err(reject) => reject.into_response(),
    }
}

async fn completion(sim: &Sim, body: &[u8]) -> Result<Response, Reject> {
    let body = parse_body(body)?;
    let model = require_model(&body)?;
    if !body["messages"].is_array() {
        return Err(error(
            400,
            "Missing required parameter: 'messages'.",
            "invalid_request_error",
            Some("messages"),
            Some("missing_required_parameter"),
        )
        .into());
    }
    let rules = sim.rules();
    let chosen = rules.choose(&prompt(&body, &model));
    let out = output(
        &chosen.reply,
        chosen.rule.is_some(),
        &chosen.context,
        &body["response_format"],
    )?;
    let (p, c) = (prompt_tokens(&body), out.tokens());
    let limit_headers = sim.limit(p + c, &model)?;
    let legacy = body["functions"].is_array() && !body["tools"].is_array();
    let mut resp = if body["stream"].as_bool() == Some(true) {
        let include_usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
        let faults = stream_faults(sim);
        let events = chunks(&model, &out, legacy, include_usage.then(|| usage(p, c)));
        sse(events, faults)
    } else {
        Json(whole(&model, &out, legacy, usage(p, c))).into_response()
    };
    add_headers(&mut resp, &limit_headers);
    Ok(resp)
}

fn stream_faults(sim: &Sim) -> StreamFaults {
    let req = RequestInfo {
        method: "POST",
        path: "/v1/chat/completions",
        tenant: None,
    };
    let draws: [f64; 3] = rand::random();
    sim.faults
        .get()
        .0
        .stream_faults(&req, [draws[0], draws[1]], draws[2])
}

fn message(out: &Output, legacy: bool) -> (Value, &'static str) {
    match out {
        Output::Text(t) => (
            json!({"role": "assistant", "content": t, "refusal": null, "annotations": []}),
            "stop",
        ),
        Output::Tool { name, arguments } if legacy => (
            json!({"role": "assistant", "content": null, "refusal": null,
                   "function_call": {"name": name, "arguments": arguments}}),
            "function_call",
        ),
        Output::Tool { name, arguments } => (
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": new_id("call_"), "type": "function",
                 "function": {"name": name, "arguments": arguments}}]}),
            "tool_calls",
        ),
    }
}

fn whole(model: &str, out: &Output, legacy: bool, usage: Value) -> Value {
    let (message, finish) = message(out, legacy);
    json!({
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_harness",
    })
}

/// Splits text into word-sized pieces (each keeps its trailing space).
pub(super) fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        cur.push(ch);
        if ch == ' ' || cur.len() >= 16 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The `data:` payloads of a streamed reply, `[DONE]` last.
fn chunks(model: &str, out: &Output, legacy: bool, usage: Option<Value>) -> Vec<String> {
    let (id, created) = (new_id("chatcmpl-"), unix_now());
    let with_usage = usage.is_some();
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": created,
            "model": model, "system_fingerprint": "fp_harness", "service_tier": "default",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if with_usage {
            c["usage"] = Value::Null;
        }
        c.to_string()
    };
    let mut events = Vec::new();
    let finish = match out {
        Output::Text(t) => {
            events.push(chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            ));
            for p in pieces(t) {
                events.push(chunk(json!({"content": p}), Value::Null));
            }
            "stop"
        }
        Output::Tool { name, arguments } if legacy => {
            let first = json!({"role": "assistant", "content": null,
                "function_call": {"name": name, "arguments": ""}});
            events.push(chunk(first, Value::Null));
            for p in pieces(arguments) {
                events.push(chunk(
                    json!({"function_call": {"arguments": p}}),
                    Value::Null,
                ));
            }
            "function_call"
        }
        Output::Tool { name, arguments } => {
            let first = json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0,
                "id": new_id("call_"), "type": "function", "function": {"name": name, "arguments": ""}}]});
            events.push(chunk(first, Value::Null));
            for p in pieces(arguments) {
                let d = json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]});
                events.push(chunk(d, Value::Null));
            }
            "tool_calls"
        }
    };
    events.push(chunk(json!({}), json!(finish)));
    if let Some(u) = usage {
        let last = json!({"id": id, "object": "chat.completion.chunk", "created": created,
            "model": model, "system_fingerprint": "fp_harness", "choices": [], "usage": u});
        events.push(last.to_string());
    }
    events.push("[DONE]".into());
    events
}

/// A `text/event-stream` response of `events`, misbehaving as `faults` says: the first chunk
/// waits `first_token_delay`; a truncated stream ends with a transport error after
/// `truncate_after` chunks, so the client sees the connection cut mid-body.
pub(super) fn sse(events: Vec<String>, faults: StreamFaults) -> Response {
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let events = events.clone();
        async move {
            if i == 0 && !faults.first_token_delay.is_zero() {
                tokio::time::sleep(faults.first_token_delay).await;
            }
            if faults.truncate_after == Some(i) {
                let cut = std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "stream cut by fault injection",
                );
                return Some((Err(cut), usize::MAX));
            }
            let e = events.get(i)?;
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Some((
                Ok::<_, std::io::Error>(Bytes::from(format!("data: {e}\n\n"))),
                i + 1,
            ))
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_reads_system_last_user_and_tools() {
        let body = json!({"model": "m", "messages": [
            {"role": "system", "content": "Eres el bot"},
            {"role": "user", "content": "hola"},
            {"role": "assistant", "content": "¿qué?"},
            {"role": "user", "content": [{"type": "text", "text": "turno"}]}],
            "tools": [{"type": "function", "function": {"name": "book"}}]});
        let p = prompt(&body, "m");
        assert_eq!(
            (p.system.as_str(), p.last_user.as_str()),
            ("Eres el bot", "turno")
        );
        assert_eq!(p.tools, vec!["book"]);
        assert_eq!(
            prompt_tokens(&body),
            3 + (3 + 3) + (1 + 3) + (2 + 3) + (2 + 3)
        );
    }

    #[test]
    fn streamed_chunks_end_with_finish_usage_and_done() {
        let out = Output::Text("Hola, ¿en qué te ayudo?".into());
        let ev = chunks("m", &out, false, Some(usage(5, 6)));
        assert_eq!(ev.last().unwrap(), "[DONE]");
        let parsed: Vec<Value> = ev[..ev.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert_eq!(parsed[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = parsed
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hola, ¿en qué te ayudo?");
        let n = parsed.len();
        assert_eq!(parsed[n - 2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(parsed[n - 1]["usage"]["total_tokens"], 11);
        let tool = Output::Tool {
            name: "f".into(),
            arguments: r#"{"day":"lunes"}"#.into(),
        };
        let ev = chunks("m", &tool, false, None);
        let args: String = ev[..ev.len() - 1]
            .iter()
            .map(|e| serde_json::from_str::<Value>(e).unwrap())
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .map(String::from)
            })
            .collect();
        assert_eq!(args, r#"{"day":"lunes"}"#);
    }
}
