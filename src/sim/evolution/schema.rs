//! The server's request schemas and the validator it runs them with.
//!
//! `schemas.json` holds every `JSONSchema7` of the Evolution API 2.3.6 (`src/validate/*.schema.ts`
//! and the integrations' `*.schema.ts`), exported as data with the file each comes from by
//! `scripts/evolution-schemas.js` (run in an evolution-api checkout). The
//! server validates with the npm `jsonschema` library and answers 400 with one message per error:
//! the failing schema node's `description` when it has one, else the library's `stack` without
//! its leading `instance.` (`delay is not of a type(s) integer`, `instance requires property
//! "text"`). This module reproduces that library's keywords and messages for the keywords those
//! schemas use (`type`, `properties`, `required`, `enum`, `items`, `minItems`, `maxItems`,
//! `uniqueItems`, `minLength`, `pattern`, `minimum`, `maximum`, `if`/`then`, `propertyNames`,
//! `$ref` to `$defs`), in the library's order (the schema's key order).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::errors::EvoError;

/// `{name: {source, schema}}` exported from the upstream TypeScript.
const SCHEMAS_JSON: &str = include_str!("schemas.json");

fn schemas() -> &'static Map<String, Value> {
    static SCHEMAS: OnceLock<Map<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| match serde_json::from_str(SCHEMAS_JSON) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

/// The upstream schema named `name` (e.g. `textMessageSchema`).
pub fn schema(name: &str) -> Option<&'static Value> {
    schemas().get(name).map(|s| &s["schema"])
}

/// The upstream file a schema comes from.
pub fn source(name: &str) -> Option<&'static str> {
    schemas().get(name).and_then(|s| s["source"].as_str())
}

/// Validates `body` against the schema `name` as the server's `dataValidate` does: `Ok` or the
/// 400 `[[messages…]]`. An unknown schema name is a programming error: it validates nothing.
pub fn validate(name: &str, body: &Value) -> Result<(), EvoError> {
    let Some(root) = schema(name) else {
        debug_assert!(false, "unknown schema {name}");
        return Ok(());
    };
    let errors = errors(root, body);
    match errors.is_empty() {
        true => Ok(()),
        false => Err(EvoError::validation(errors)),
    }
}

/// The messages of every error of `body` against `root`.
pub fn errors(root: &'static Value, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut v = Validator {
        root,
        out: &mut out,
        patterns: HashMap::new(),
    };
    v.node(root, Some(body), "instance");
    out
}

struct Validator<'a> {
    root: &'static Value,
    out: &'a mut Vec<String>,
    patterns: HashMap<String, Option<regex::Regex>>,
}

impl Validator<'_> {
    /// Records one error of `schema` at `path`: its description, or the stack without
    /// `instance.`.
    fn fail(&mut self, schema: &Value, path: &str, message: String) {
        let msg = match schema.get("description").and_then(Value::as_str) {
            Some(d) => d.to_string(),
            None => format!("{path} {message}").replacen("instance.", "", 1),
        };
        self.out.push(msg);
    }

    fn node(&mut self, schema: &Value, value: Option<&Value>, path: &str) {
        let Some(obj) = schema.as_object() else {
            return;
        };
        if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(resolved) = self.resolve(target) {
                self.node(resolved, value, path);
            }
            return;
        }
        let Some(value) = value else {
            return;
        };
        for (key, arg) in obj {
            self.keyword(schema, key, arg, value, path);
        }
    }

    fn resolve(&self, target: &str) -> Option<&'static Value> {
        // Only the root's `$defs` are referenced upstream.
        let name = target.strip_prefix("#/$defs/")?;
        self.root.get("$defs")?.get(name)
    }

    fn keyword(&mut self, schema: &Value, key: &str, arg: &Value, value: &Value, path: &str) {
        match key {
            "type" => self.type_check(schema, arg, value, path),
            "properties" => {
                let (Some(props), Some(obj)) = (arg.as_object(), value.as_object()) else {
                    return;
                };
                // Absent properties validate nothing: no path is built for them.
                for (name, sub) in props {
                    if let Some(v) = obj.get(name) {
                        self.node(sub, Some(v), &format!("{path}.{name}"));
                    }
                }
            }
            "required" => {
                let (Some(req), Some(obj)) = (arg.as_array(), value.as_object()) else {
                    return;
                };
                for name in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(name) {
                        self.fail(schema, path, format!("requires property {name:?}"));
                    }
                }
            }
            "enum" => {
                let options = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                if !options.contains(value) {
                    let list: Vec<String> = options.iter().map(js_string).collect();
                    self.fail(
                        schema,
                        path,
                        format!("is not one of enum values: {}", list.join(",")),
                    );
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        self.node(arg, Some(item), &format!("{path}[{i}]"));
                    }
                }
            }
            "minItems" | "maxItems" => {
                self.length(schema, key, arg, value.as_array().map(Vec::len), path)
            }
            "minLength" => {
                let len = value.as_str().map(|s| s.encode_utf16().count());
                self.length(schema, key, arg, len, path);
            }
            "uniqueItems" => {
                if let (Some(true), Some(items)) = (arg.as_bool(), value.as_array()) {
                    let dup = items
                        .iter()
                        .enumerate()
                        .any(|(i, a)| items[..i].contains(a));
                    if dup {
                        self.fail(schema, path, "contains duplicate item".into());
                    }
                }
            }
            "pattern" => self.pattern(schema, arg, value, path),
            "minimum" | "maximum" => self.limit(schema, key, arg, value, path),
            "if" => self.if_then(schema, arg, value, path),
            "propertyNames" => {
                if let Some(obj) = value.as_object() {
                    for name in obj.keys() {
                        self.node(arg, Some(&Value::String(name.clone())), path);
                    }
                }
            }
            _ => {}
        }
    }

    fn type_check(&mut self, schema: &Value, arg: &Value, value: &Value, path: &str) {
        let types: Vec<&str> = match arg {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        if !types.iter().any(|t| is_type(value, t)) {
            let list = types.join(",");
            self.fail(schema, path, format!("is not of a type(s) {list}"));
        }
    }

    fn limit(&mut self, schema: &Value, key: &str, arg: &Value, value: &Value, path: &str) {
        let (Some(limit), Some(n)) = (arg.as_f64(), value.as_f64()) else {
            return;
        };
        let (bad, word) = match key {
            "minimum" => (n < limit, "greater"),
            _ => (n > limit, "less"),
        };
        if bad {
            let msg = format!("must be {word} than or equal to {}", js_string(arg));
            self.fail(schema, path, msg);
        }
    }

    /// `if`: when the value passes `if`, the errors of `then` count (the library imports them).
    fn if_then(&mut self, schema: &Value, arg: &Value, value: &Value, path: &str) {
        let mut sink = Vec::new();
        let mut probe = Validator {
            root: self.root,
            out: &mut sink,
            patterns: HashMap::new(),
        };
        probe.node(arg, Some(value), path);
        if sink.is_empty() {
            if let Some(then) = schema.get("then") {
                self.node(then, Some(value), path);
            }
        }
    }

    fn length(&mut self, schema: &Value, key: &str, arg: &Value, len: Option<usize>, path: &str) {
        let (Some(limit), Some(len)) = (arg.as_u64(), len) else {
            return;
        };
        let len = len as u64;
        match key {
            "maxItems" if len > limit => self.fail(
                schema,
                path,
                format!("does not meet maximum length of {limit}"),
            ),
            "minItems" | "minLength" if len < limit => self.fail(
                schema,
                path,
                format!("does not meet minimum length of {limit}"),
            ),
            _ => {}
        }
    }

    fn pattern(&mut self, schema: &Value, arg: &Value, value: &Value, path: &str) {
        let (Some(p), Some(s)) = (arg.as_str(), value.as_str()) else {
            return;
        };
        let re = self
            .patterns
            .entry(p.to_string())
            .or_insert_with(|| regex::Regex::new(p).ok());
        if re.as_ref().is_some_and(|re| !re.is_match(s)) {
            self.fail(
                schema,
                path,
                format!("does not match pattern {}", Value::String(p.into())),
            );
        }
    }
}

/// The JSON types as the library checks them (`integer` is `Number.isInteger`).
fn is_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// `String(v)` in JavaScript, for enum lists and limits.
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // upstream: evolution-api 2.3.6 src/validate/message.schema.ts (textMessageSchema)
    #[test]
    fn text_message_errors_are_the_servers() {
        let s = schema("textMessageSchema").expect("schema");
        assert_eq!(
            errors(s, &json!({"number": "5511", "text": "x", "delay": "100"})),
            vec!["Enter a value in milliseconds"]
        );
        assert_eq!(
            errors(s, &json!({"number": 5511})),
            vec!["Invalid format", "instance requires property \"text\""]
        );
        assert_eq!(
            errors(
                s,
                &json!({"number": "1", "text": "x", "linkPreview": "yes", "mentioned": []})
            ),
            vec![
                "linkPreview is not of a type(s) boolean",
                "mentioned does not meet minimum length of 1"
            ]
        );
        assert_eq!(
            errors(
                s,
                &json!({"number": "1", "text": "x", "quoted": {"key": {}}})
            ),
            vec!["quoted.key requires property \"id\""]
        );
        assert_eq!(
            errors(
                s,
                &json!({"number": "1", "text": "x", "quoted": {"key": {"id": ""}}})
            ),
            vec!["The \"id\" cannot be empty"]
        );
    }

    // upstream: evolution-api 2.3.6 src/validate/chat.schema.ts, instance.schema.ts, event.schema.ts
    #[test]
    fn other_keywords_match_the_library() {
        let numbers = schema("whatsappNumberSchema").expect("schema");
        assert_eq!(
            errors(numbers, &json!({"numbers": []})),
            vec!["numbers does not meet minimum length of 1"]
        );
        assert_eq!(
            errors(numbers, &json!({"numbers": [1]})),
            vec!["\"numbers\" must be an array of numeric strings"]
        );
        let inst = schema("instanceSchema").expect("schema");
        assert_eq!(
            errors(inst, &json!({"qrcode": "true", "number": "+55 11"})),
            vec![
                "number does not match pattern \"^\\\\d+[\\\\.@\\\\w-]+\"",
                "qrcode is not of a type(s) boolean"
            ]
        );
        let event = schema("eventSchema").expect("schema");
        assert_eq!(
            errors(event, &json!({"websocket": {"events": ["NOPE"]}})),
            vec![
                "websocket.events[0] is not one of enum values: ".to_string()
                    + &super::super::rules::EVENT_KEYS.join(","),
                "websocket requires property \"enabled\"".to_string()
            ]
        );
        let call = schema("offerCallSchema").expect("schema");
        assert_eq!(
            errors(call, &json!({"number": "1", "callDuration": 16})),
            vec!["callDuration must be less than or equal to 15"]
        );
        assert!(source("offerCallSchema").is_some_and(|s| s.ends_with("message.schema.ts")));
    }
}
