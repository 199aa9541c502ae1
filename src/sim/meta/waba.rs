//! State of one WhatsApp Business Account: its message templates (with the review clock) and
//! its flows.
//!
//! Review: a created or edited template is `PENDING` until `review_delay` has passed, then the
//! verdict of [`templates::review`] applies (`APPROVED`, or `REJECTED` with a reason); the
//! handler queues the `message_template_status_update` webhook with the same delay, so the
//! state a client lists and the webhook it receives agree.
//!
//! Flows (Meta's "Flows API" page, pywa `create_flow`/`get_flow`/`publish_flow`/`delete_flow`):
//! created as `DRAFT` with `categories`; publishing needs a valid flow JSON (else the flow keeps
//! its `validation_errors`, error 139002); only drafts may be deleted (139004); `publish: true`
//! at creation publishes. Codes: pywa `pywa/errors.py` `FlowPublishingError`, `FlowDeletingError`.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tokio::time::{Duration, Instant};

use super::graph::GraphError;
use super::templates::{self, Template, TemplateStatus};

pub const FLOW_CATEGORIES: &[&str] = &[
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
];

/// A stored template and, while pending, when its verdict applies.
#[derive(Debug, Clone)]
pub struct Stored {
    pub template: Template,
    pub verdict: Option<(Instant, TemplateStatus, String)>,
}

/// A flow.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub name: String,
    pub categories: Vec<String>,
    pub status: &'static str,
    pub flow_json: Option<String>,
}

impl Flow {
    fn validation_errors(&self) -> Vec<Value> {
        match &self.flow_json {
            None => vec![
                json!({"error": "MISSING_FLOW_JSON", "error_type": "FLOW_JSON_ERROR",
                "message": "The flow has no Flow JSON yet."}),
            ],
            Some(j) => match serde_json::from_str::<Value>(j) {
                Ok(v)
                    if v.get("version").is_some()
                        && v.get("screens").is_some_and(Value::is_array) =>
                {
                    vec![]
                }
                _ => vec![
                    json!({"error": "INVALID_FLOW_JSON", "error_type": "FLOW_JSON_ERROR",
                    "message": "Flow JSON must be an object with `version` and `screens`."}),
                ],
            },
        }
    }

    pub fn describe(&self, fields: Option<&str>) -> Value {
        let full = json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "categories": self.categories,
            "validation_errors": self.validation_errors(),
            "json_version": self.flow_json.as_ref().and_then(|j| serde_json::from_str::<Value>(j).ok())
                .and_then(|v| v.get("version").cloned()).unwrap_or(json!("7.1")),
        });
        super::graph::filter_fields(full, fields)
    }
}

/// One WABA's catalogue.
#[derive(Debug, Clone, Default)]
pub struct Waba {
    pub templates: Vec<Stored>,
    pub flows: BTreeMap<String, Flow>,
}

fn bad(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

impl Waba {
    /// Seeded with Meta's `hello_world` (`en_US`, approved).
    pub fn seeded(hello_id: String) -> Self {
        Waba {
            templates: vec![Stored {
                template: Template::hello_world(hello_id),
                verdict: None,
            }],
            flows: BTreeMap::new(),
        }
    }

    /// Applies verdicts that are due.
    pub fn refresh(&mut self, now: Instant) {
        for s in &mut self.templates {
            if let Some((at, status, reason)) = &s.verdict {
                if *at <= now {
                    s.template.status = *status;
                    s.template.reason = reason.clone();
                    if *status == TemplateStatus::Approved {
                        s.template.quality = "GREEN".into();
                    }
                    s.verdict = None;
                }
            }
        }
    }

    /// Stores a new template (PENDING); returns it as it will be after review.
    pub fn create(
        &mut self,
        mut t: Template,
        id: String,
        now: Instant,
        delay: Duration,
    ) -> Result<Template, GraphError> {
        if self.find(&t.name, &t.language).is_some() {
            let mut e = bad(format!(
                "Content in this language already exists: {} ({}).",
                t.name, t.language
            ));
            e.subcode = Some(2388024);
            return Err(e);
        }
        t.id = id;
        let decided = decide(&t);
        self.templates.push(Stored {
            template: t,
            verdict: Some((now + delay, decided.status, decided.reason.clone())),
        });
        Ok(decided)
    }

    /// Edits a template's components or category; it goes back to review.
    pub fn edit(
        &mut self,
        id: &str,
        body: &Value,
        now: Instant,
        delay: Duration,
    ) -> Result<Template, GraphError> {
        let s = self
            .templates
            .iter_mut()
            .find(|s| s.template.id == id)
            .ok_or_else(|| GraphError::unsupported_request("POST", id))?;
        let mut next = s.template.clone();
        if let Some(c) = body.get("components") {
            let list = c
                .as_array()
                .ok_or_else(|| bad("Param components must be an array."))?;
            templates::check_components(list)?;
            next.components = list.clone();
        }
        if let Some(c) = body.get("category").and_then(Value::as_str) {
            let c = c.to_ascii_uppercase();
            if !templates::CATEGORIES.contains(&c.as_str()) {
                return Err(bad(
                    "Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}.",
                ));
            }
            next.category = c;
        }
        let decided = decide(&next);
        next.status = TemplateStatus::Pending;
        s.template = next;
        s.verdict = Some((now + delay, decided.status, decided.reason.clone()));
        Ok(decided)
    }

    /// Deletes by name (every language), or by name and `hsm_id`.
    pub fn delete(&mut self, name: Option<&str>, hsm_id: Option<&str>) -> Result<(), GraphError> {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Err(GraphError::param_required("name"));
        };
        let before = self.templates.len();
        self.templates
            .retain(|s| !(s.template.name == name && hsm_id.is_none_or(|h| h == s.template.id)));
        if self.templates.len() == before {
            let mut e = bad(format!("Message template \"{name}\" not found."));
            e.subcode = Some(2593002);
            return Err(e);
        }
        Ok(())
    }

    pub fn find(&self, name: &str, language: &str) -> Option<&Template> {
        self.templates
            .iter()
            .map(|s| &s.template)
            .find(|t| t.name == name && t.language == language)
    }

    /// Sets a template's status and/or quality as Meta's review or rating would (a pending
    /// verdict is dropped); returns it and its previous quality.
    pub fn force(
        &mut self,
        name: &str,
        language: &str,
        status: Option<TemplateStatus>,
        quality: Option<&str>,
    ) -> Option<(Template, String)> {
        let s = self
            .templates
            .iter_mut()
            .find(|s| s.template.name == name && s.template.language == language)?;
        let t = &mut s.template;
        let previous = t.quality.clone();
        if let Some(st) = status {
            s.verdict = None;
            t.status = st;
            t.reason = if st == TemplateStatus::Rejected {
                "INVALID_FORMAT"
            } else {
                "NONE"
            }
            .into();
        }
        if let Some(q) = quality {
            t.quality = q.to_ascii_uppercase();
        }
        Some((t.clone(), previous))
    }

    pub fn by_id_mut(&mut self, id: &str) -> Option<&mut Template> {
        self.templates
            .iter_mut()
            .map(|s| &mut s.template)
            .find(|t| t.id == id)
    }

    /// The template a send names, or 132001/132015/132016.
    pub fn for_send(&self, name: &str, language: &str) -> Result<&Template, GraphError> {
        let missing = || {
            GraphError::template_error(
                132001,
                "Template name does not exist in the translation",
                format!("template name ({name}) does not exist in {language}"),
            )
        };
        let t = self.find(name, language).ok_or_else(|| {
            let mut e = missing();
            e.status = 404;
            e
        })?;
        match t.status {
            TemplateStatus::Approved => Ok(t),
            TemplateStatus::Paused => Err(GraphError::template_error(
                132015,
                "Template is Paused",
                format!("Template {name} is paused due to low quality so it cannot be sent in a template message."),
            )),
            TemplateStatus::Disabled => Err(GraphError::template_error(
                132016,
                "Template is Disabled",
                format!("Template {name} has been paused too many times due to low quality and is now permanently disabled."),
            )),
            TemplateStatus::Pending | TemplateStatus::Rejected => {
                let mut e = missing();
                e.status = 404;
                Err(e)
            }
        }
    }

    /// `GET /{waba-id}/message_templates` with Meta's filters (`name`, `status`, `category`,
    /// `language`) and `limit`.
    pub fn list(&self, q: &std::collections::HashMap<String, String>) -> Vec<Value> {
        let eq = |k: &str, v: &str| q.get(k).is_none_or(|want| want.eq_ignore_ascii_case(v));
        let limit = q
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(usize::MAX);
        self.templates
            .iter()
            .map(|s| &s.template)
            .filter(|t| {
                q.get("name").is_none_or(|n| t.name.contains(n.as_str()))
                    && eq("status", t.status.as_str())
                    && eq("category", &t.category)
                    && eq("language", &t.language)
            })
            .take(limit)
            .map(|t| t.describe(q.get("fields").map(String::as_str)))
            .collect()
    }

    /// `POST /{waba-id}/flows {name, categories, flow_json?, publish?}`.
    pub fn create_flow(&mut self, p: &Value, id: String) -> Result<Flow, GraphError> {
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err(GraphError::param_required("name"));
        }
        let categories: Vec<String> = match p.get("categories") {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
            _ => return Err(GraphError::param_required("categories")),
        };
        if categories.is_empty()
            || categories
                .iter()
                .any(|c| !FLOW_CATEGORIES.contains(&c.as_str()))
        {
            return Err(bad(format!(
                "Param categories must be a non-empty list of {FLOW_CATEGORIES:?}."
            )));
        }
        let flow_json = match p.get("flow_json") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(v @ Value::Object(_)) => Some(v.to_string()),
            _ => None,
        };
        let mut flow = Flow {
            id: id.clone(),
            name: name.to_string(),
            categories,
            status: "DRAFT",
            flow_json,
        };
        if p.get("publish").is_some_and(|v| v == true || v == "true") {
            publish(&mut flow)?;
        }
        self.flows.insert(id, flow.clone());
        Ok(flow)
    }
}

/// DRAFT → PUBLISHED when the flow JSON is valid.
pub fn publish(flow: &mut Flow) -> Result<(), GraphError> {
    let publishing_error =
        |details: String| GraphError::coded(139002, "Publishing error", details, 400);
    if flow.status != "DRAFT" {
        return Err(publishing_error(format!(
            "Publishing Flow in invalid state: {}.",
            flow.status
        )));
    }
    if !flow.validation_errors().is_empty() {
        return Err(publishing_error(
            "Publishing Flow with validation errors (see validation_errors); fix its Flow JSON first."
                .into(),
        ));
    }
    flow.status = "PUBLISHED";
    Ok(())
}

/// The template with its verdict applied (what the status webhook announces).
fn decide(t: &Template) -> Template {
    let mut out = t.clone();
    match templates::review(t) {
        Some(reason) => {
            out.status = TemplateStatus::Rejected;
            out.reason = reason.into();
        }
        None => {
            out.status = TemplateStatus::Approved;
            out.reason = "NONE".into();
            out.quality = "GREEN".into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(name: &str, body: &str) -> Template {
        templates::parse_create(&json!({"name":name,"language":"es","category":"MARKETING",
            "components":[{"type":"BODY","text":body,"example":{"body_text":[["a","b"]]}}]}))
        .unwrap()
    }

    #[test]
    fn review_clock_and_send_checks() {
        let now = Instant::now();
        let d = Duration::from_secs(1);
        let mut w = Waba::seeded("1".into());
        assert!(w.for_send("hello_world", "en_US").is_ok());
        assert_eq!(w.for_send("hello_world", "es").unwrap_err().code, 132001);
        let ok = w
            .create(order("promo", "Hola {{1}}, hoy {{2}}."), "2".into(), now, d)
            .unwrap();
        assert_eq!(ok.status, TemplateStatus::Approved);
        let bad = w
            .create(order("bad", "{{1}}{{2}}"), "3".into(), now, d)
            .unwrap();
        assert_eq!(
            (bad.status, bad.reason.as_str()),
            (TemplateStatus::Rejected, "INVALID_FORMAT")
        );
        assert_eq!(
            w.for_send("promo", "es").unwrap_err().code,
            132001,
            "still pending"
        );
        assert_eq!(
            w.create(order("promo", "x {{1}} y {{2}} z"), "4".into(), now, d)
                .unwrap_err()
                .subcode,
            Some(2388024)
        );
        w.refresh(now + d);
        assert!(w.for_send("promo", "es").is_ok());
        let (t, q) = w
            .force("promo", "es", Some(TemplateStatus::Paused), Some("yellow"))
            .unwrap();
        assert_eq!((t.quality.as_str(), q.as_str()), ("YELLOW", "GREEN"));
        assert_eq!(w.for_send("promo", "es").unwrap_err().code, 132015);
        let q = [("status".to_string(), "REJECTED".to_string())].into();
        assert_eq!(w.list(&q).len(), 1);
        w.delete(Some("bad"), None).unwrap();
        assert!(w.delete(Some("bad"), None).is_err());
    }

    #[test]
    fn flows_publish_only_valid_drafts() {
        let mut w = Waba::default();
        let f = w
            .create_flow(&json!({"name":"f","categories":["SURVEY"]}), "9".into())
            .unwrap();
        assert_eq!(f.status, "DRAFT");
        let mut f = w.flows["9"].clone();
        assert_eq!(publish(&mut f).unwrap_err().code, 139002);
        f.flow_json = Some(r#"{"version":"7.1","screens":[]}"#.into());
        publish(&mut f).unwrap();
        assert!(publish(&mut f).is_err());
        assert!(w
            .create_flow(&json!({"name":"g","categories":["NOPE"]}), "8".into())
            .is_err());
    }
}
