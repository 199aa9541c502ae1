//! `POST /v1/responses`: the Responses API, answered by the same rules as chat completions.
//!
//! Shapes follow openai-python's `types/responses/response.py`: `output` holds a `message` item
//! with `output_text` content, or a `function_call` item (`call_id`, `name`, `arguments`);
//! `usage` counts `input_tokens`/`output_tokens`. `instructions` and `system`/`developer`
//! items are the system prompt; `text.format` (`json_schema`, `json_object`) plays
//! `response_format`'s part. Streaming (`stream: true`) is not simulated on this route: it
//! answers 400 saying so (chat completions stream).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::chat::{content_text, output, Output};
use super::rules::Prompt;
use super::{add_headers, error, new_id, parse_body, require_model, tokens, unix_now, Reject, Sim};

/// The rules' view of a Responses request.
fn prompt<'a>(body: &'a Value, model: &'a str) -> Prompt<'a> {
    let mut system: Vec<String> = body["instructions"]
        .as_str()
        .map(String::from)
        .into_iter()
        .collect();
    let mut last_user = String::new();
    match &body["input"] {
        Value::String(s) => last_user = s.clone(),
        Value::Array(items) => {
            for item in items {
                let text = content_text(&item["content"]);
                match item["role"].as_str() {
                    Some("system" | "developer") => system.push(text),
                    Some("user") => last_user = text,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    Prompt {
        model,
        system: system.join("\n"),
        last_user,
        tools,
    }
}

fn input_tokens(body: &Value) -> u64 {
    let p = prompt(body, "");
    tokens(&p.system) + tokens(&p.last_user) + 3
}

fn output_item(out: &Output) -> Value {
    match out {
        Output::Text(t) => json!({"type": "message", "id": new_id("msg_"), "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": t, "annotations": [], "logprobs": []}]}),
        Output::Tool { name, arguments } => json!({"type": "function_call", "id": new_id("fc_"),
            "call_id": new_id("call_"), "name": name, "arguments": arguments, "status": "completed"}),
    }
}

pub(super) async fn create(State(sim): State<Sim>, body: Bytes) -> Response {
    match respond(&sim, &body) {
        Ok(r) => r,
        Err(reject) => reject.into_response(),
    }
}

fn respond(sim: &Sim, body: &[u8]) -> Result<Response, Reject> {
    let body = parse_body(body)?;
    let model = require_model(&body)?;
    if body["stream"].as_bool() == Some(true) {
        return Err(error(
            400,
            "harness: stream is not simulated on /v1/responses (stream /v1/chat/completions instead)",
            "invalid_request_error",
            Some("stream"),
            None,
        )
        .into());
    }
    let rules = sim.rules();
    let chosen = rules.choose(&prompt(&body, &model));
    let format = &body["text"]["format"];
    // `text.format` carries the schema itself, not under `json_schema` as chat does.
    let format = if format["type"] == "json_schema" {
        json!({"type": "json_schema", "json_schema": {"schema": format["schema"]}})
    } else {
        format.clone()
    };
    let out = output(
        &chosen.reply,
        chosen.rule.is_some(),
        &chosen.context,
        &format,
    )?;
    let (i, o) = (input_tokens(&body), out.tokens());
    let limit_headers = sim.limit(i + o, &model)?;
    let now = unix_now();
    let doc = json!({
        "id": new_id("resp_"), "object": "response", "created_at": now, "status": "completed",
        "completed_at": now, "error": null, "incomplete_details": null,
        "instructions": body["instructions"], "max_output_tokens": body["max_output_tokens"],
        "model": model, "output": [output_item(&out)], "parallel_tool_calls": true,
        "previous_response_id": body["previous_response_id"], "reasoning": {"effort": null, "summary": null},
        "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}},
        "tool_choice": "auto", "tools": body["tools"].as_array().cloned().unwrap_or_default(),
        "top_p": 1.0, "truncation": "disabled", "metadata": {},
        "usage": {"input_tokens": i, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": o, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": i + o},
    });
    let mut resp = Json(doc).into_response();
    add_headers(&mut resp, &limit_headers);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_and_input_items_make_the_prompt() {
        let body = json!({"model": "m", "instructions": "Eres el bot",
            "input": [{"role": "developer", "content": "sé breve"},
                      {"role": "user", "content": [{"type": "input_text", "text": "turno"}]}],
            "tools": [{"type": "function", "name": "book", "parameters": {}}]});
        let p = prompt(&body, "m");
        assert_eq!(p.system, "Eres el bot\nsé breve");
        assert_eq!(p.last_user, "turno");
        assert_eq!(p.tools, vec!["book"]);
        let body = json!({"input": "hola"});
        assert_eq!(prompt(&body, "m").last_user, "hola");
    }

    #[test]
    fn output_items_have_the_sdk_shapes() {
        let m = output_item(&Output::Text("hi".into()));
        assert_eq!(m["content"][0]["type"], "output_text");
        let f = output_item(&Output::Tool {
            name: "book".into(),
            arguments: "{}".into(),
        });
        assert_eq!(f["type"], "function_call");
        assert!(f["call_id"].as_str().unwrap().starts_with("call_"));
    }
}
