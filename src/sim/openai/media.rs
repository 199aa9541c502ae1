//! `POST /v1/embeddings` (deterministic vectors) and `POST /v1/audio/transcriptions`
//! (multipart upload; the transcript chosen by the rules' `transcriptions:`).
//!
//! Embeddings: the same input and model always give the same unit vector, from SHA-256 in
//! counter mode over `model\0input` (portable across versions, unlike a seeded RNG), of the
//! model's size (3072 for `text-embedding-3-large`, else 1536) or `dimensions`. With
//! `encoding_format: base64` the floats are little-endian f32 bytes in base64, as the SDKs
//! decode them (openai-python `resources/embeddings.py`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{add_headers, error, parse_body, require_model, tokens, Sim};

/// A deterministic unit vector for `input`.
pub fn embedding(model: &str, input: &str, dims: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(dims);
    let mut counter = 0u32;
    while out.len() < dims {
        let mut h = Sha256::new();
        h.update(model.as_bytes());
        h.update([0]);
        h.update(input.as_bytes());
        h.update(counter.to_le_bytes());
        for word in h.finalize().chunks_exact(4) {
            let u = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            out.push((u as f64 / u32::MAX as f64 * 2.0 - 1.0) as f32);
        }
        counter += 1;
    }
    out.truncate(dims);
    let norm = out
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    out.iter_mut().for_each(|x| *x /= norm);
    out
}

/// The inputs of an embeddings request: a string, strings, or token arrays (as text).
fn inputs(input: &Value) -> Option<Vec<String>> {
    match input {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_number) {
                return Some(vec![input.to_string()]);
            }
            Some(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), String::from))
                    .collect(),
            )
        }
        _ => None,
    }
}

pub(super) async fn embeddings(State(sim): State<Sim>, body: Bytes) -> Response {
    let body = match parse_body(&body).and_then(|b| require_model(&b).map(|m| (b, m))) {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let (body, model) = body;
    let Some(inputs) = inputs(&body["input"]) else {
        return error(
            400,
            "'input' is a required property",
            "invalid_request_error",
            Some("input"),
            None,
        );
    };
    let dims = body["dimensions"].as_u64().map_or_else(
        || {
            if model.contains("3-large") {
                3072
            } else {
                1536
            }
        },
        |d| d.clamp(1, 3072) as usize,
    );
    let base64 = body["encoding_format"] == "base64";
    let used: u64 = inputs.iter().map(|i| tokens(i)).sum();
    let limit_headers = match sim.limit(used, &model) {
        Ok(h) => h,
        Err(r) => return r.into_response(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let v = embedding(&model, input, dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let mut resp = Json(json!({"object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": used, "total_tokens": used}}))
    .into_response();
    add_headers(&mut resp, &limit_headers);
    resp
}

/// The fields and the file of a transcription upload.
#[derive(Debug, Default)]
struct Upload {
    fields: serde_json::Map<String, Value>,
    filename: String,
    file: Option<Bytes>,
}

async fn read_upload(headers: &HeaderMap, raw: Bytes) -> Result<Upload, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "Content-Type must be multipart/form-data".to_string())?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(raw) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut up = Upload::default();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            up.filename = field.file_name().unwrap_or("file").to_string();
            up.file = Some(field.bytes().await.map_err(|e| e.to_string())?);
        } else {
            let text = field.text().await.map_err(|e| e.to_string())?;
            up.fields.insert(name, Value::String(text));
        }
    }
    Ok(up)
}

pub(super) async fn transcriptions(
    State(sim): State<Sim>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let up = match read_upload(&headers, raw).await {
        Ok(u) => u,
        Err(e) => return error(400, &e, "invalid_request_error", None, None),
    };
    let field = |k: &str| {
        up.fields
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let model = field("model");
    if model.is_empty() {
        return error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
            None,
        );
    }
    let Some(file) = &up.file else {
        return error(
            400,
            "Missing required parameter: 'file'.",
            "invalid_request_error",
            Some("file"),
            Some("missing_required_parameter"),
        );
    };
    let text = sim.rules().transcribe(&up.filename, &field("prompt"), file);
    let limit_headers = match sim.limit(tokens(&text), &model) {
        Ok(h) => h,
        Err(r) => return r.into_response(),
    };
    // A rough duration: 16 kB per second of compressed speech.
    let seconds = (file.len() as f64 / 16_000.0).max(1.0).round();
    let mut resp = match field("response_format").as_str() {
        "text" => text.clone().into_response(),
        "srt" => format!("1\n00:00:00,000 --> 00:00:{seconds:02},000\n{text}\n\n").into_response(),
        "vtt" => {
            format!("WEBVTT\n\n00:00:00.000 --> 00:00:{seconds:02}.000\n{text}\n\n").into_response()
        }
        "verbose_json" => Json(json!({"task": "transcribe", "language": field("language"),
            "duration": seconds, "text": text,
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": seconds, "text": text,
                "tokens": [], "temperature": 0.0, "avg_logprob": -0.2,
                "compression_ratio": 1.0, "no_speech_prob": 0.0}]}))
        .into_response(),
        _ => Json(json!({"text": text, "usage": {"type": "duration", "seconds": seconds}}))
            .into_response(),
    };
    add_headers(&mut resp, &limit_headers);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embedding("text-embedding-3-small", "turno", 1536);
        assert_eq!(a.len(), 1536);
        assert_eq!(a, embedding("text-embedding-3-small", "turno", 1536));
        assert_ne!(a, embedding("text-embedding-3-small", "turnos", 1536));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        assert_eq!(embedding("m", "x", 7).len(), 7);
    }

    #[test]
    fn inputs_accept_strings_lists_and_tokens() {
        assert_eq!(inputs(&json!("a")).unwrap(), vec!["a"]);
        assert_eq!(inputs(&json!(["a", "b"])).unwrap().len(), 2);
        assert_eq!(inputs(&json!([1, 2])).unwrap(), vec!["[1,2]"]);
        assert!(inputs(&json!([])).is_none());
        assert!(inputs(&Value::Null).is_none());
    }
}
