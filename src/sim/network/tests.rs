use std::sync::Mutex;

use super::*;
use crate::sim::bus::{NewOutbound, Simulator};

/// A side of the network owning one number; `answers`: its "app" replies to every message.
struct Fake {
    tenant: &'static str,
    number: &'static str,
    bus: Bus,
    got: Mutex<Vec<InboundRequest>>,
    answers: bool,
}

impl Fake {
    fn new(tenant: &'static str, number: &'static str, answers: bool) -> Arc<Self> {
        Arc::new(Self {
            tenant,
            number,
            bus: Bus::new(1000),
            got: Mutex::new(Vec::new()),
            answers,
        })
    }

    fn send(&self, to: &str, text: &str) -> Arc<OutboundMessage> {
        self.bus.publish(NewOutbound {
            provider: Simulator::Evolution,
            tenant: self.tenant.into(),
            to: to.into(),
            message_id: "id".into(),
            kind: "text".into(),
            text: Some(text.into()),
            payload: json!({"number": to, "text": text}),
        })
    }

    fn received(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

impl Member for Fake {
    fn owner_of(&self, number: &str) -> Option<String> {
        (number == self.number).then(|| self.tenant.to_string())
    }
    fn number_of(&self, tenant: &str) -> Option<String> {
        (tenant == self.tenant).then(|| self.number.to_string())
    }
    fn deliver(&self, _tenant: &str, req: InboundRequest) -> Result<(), String> {
        if self.answers {
            self.send(&req.from, "and you?");
        }
        self.got.lock().unwrap().push(req);
        Ok(())
    }
}

fn weak(f: &Arc<Fake>) -> Weak<dyn Member> {
    let member: Arc<dyn Member> = f.clone();
    Arc::downgrade(&member)
}

#[tokio::test]
async fn a_message_to_a_number_on_the_network_reaches_its_owner_from_the_senders_number() {
    let net = Network::new();
    let (a, b) = (
        Fake::new("a", "5511900000001", false),
        Fake::new("b", "15550001", false),
    );
    let tasks = [net.join(weak(&a), &a.bus), net.join(weak(&b), &b.bus)];
    // The forwarding task of `a` delivers it.
    a.send("15550001", "hola");
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.received() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.received(), 1, "delivered once");
    let got = b.got.lock().unwrap().pop().unwrap();
    assert_eq!(
        (got.from.as_str(), got.text.as_deref()),
        ("5511900000001", Some("hola"))
    );
    // The sender's own journal keeps it, as for any send.
    assert_eq!(a.bus.journal_stats().0, 1);
    assert_eq!(a.received(), 0);
    tasks.iter().for_each(JoinHandle::abort);
}

#[tokio::test]
async fn numbers_nobody_owns_and_sends_to_oneself_are_not_network_messages() {
    let net = Network::new();
    let a = Fake::new("a", "5511900000001", false);
    let task = net.join(weak(&a), &a.bus);
    assert_eq!(
        net.forward(0, &a.send("5511999999999", "x")),
        Forwarded::NotOnNetwork
    );
    assert_eq!(
        net.forward(0, &a.send("5511900000001", "x")),
        Forwarded::NotOnNetwork
    );
    assert_eq!(a.received(), 0);
    task.abort();
}

#[tokio::test]
async fn the_forwarding_tasks_deliver_and_two_apps_answering_each_other_stop_at_the_hop_limit() {
    let net = Network::with_hop_limit(10);
    let (a, b) = (
        Fake::new("a", "111111111", true),
        Fake::new("b", "222222222", true),
    );
    let tasks = [net.join(weak(&a), &a.bus), net.join(weak(&b), &b.bus)];
    a.send("222222222", "ping");
    // Without a bound this would run forever; with it, the burst stops at 10 deliveries.
    let deadline = Instant::now() + Duration::from_secs(5);
    while net.dropped() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(a.received() + b.received(), 10);
    assert_eq!(net.dropped(), 1, "one message held back, then silence");
    // After a quiet second the pair may talk again.
    tokio::time::sleep(QUIET + Duration::from_millis(50)).await;
    assert_eq!(
        net.forward(0, &a.send("222222222", "again")),
        Forwarded::Delivered { tenant: "b".into() }
    );
    tasks.iter().for_each(JoinHandle::abort);
}

fn outbound(kind: &str, text: Option<&str>, payload: Value) -> OutboundMessage {
    let bus = Bus::new(10);
    let m = bus.publish(NewOutbound {
        provider: Simulator::Evolution,
        tenant: "a".into(),
        to: "1".into(),
        message_id: "id".into(),
        kind: kind.into(),
        text: text.map(str::to_string),
        payload,
    });
    (*m).clone()
}

#[test]
fn media_location_contacts_and_reactions_keep_their_kind() {
    // upstream: evolution-api 2.3.6 src/validate/message.schema.ts (mediaMessageSchema,
    // locationMessageSchema, contactMessageSchema, reactionMessageSchema)
    let img = outbound(
        "media",
        Some("recibo"),
        json!({"mediatype": "image", "media": "aGVsbG8=", "caption": "recibo"}),
    );
    let r = to_inbound("1", &img).unwrap();
    let part = r.image.unwrap();
    assert_eq!(
        (part.caption.as_deref(), part.data_base64.as_deref()),
        (Some("recibo"), Some("aGVsbG8="))
    );
    let voice = outbound("media", None, json!({"audio": "https://x/a.ogg"}));
    let r = to_inbound("1", &voice).unwrap();
    assert!(r.audio.unwrap().voice);
    let loc = outbound(
        "location",
        None,
        json!({"latitude": -34.6, "longitude": -58.4, "name": "Sede"}),
    );
    assert_eq!(
        to_inbound("1", &loc)
            .unwrap()
            .location
            .unwrap()
            .name
            .as_deref(),
        Some("Sede")
    );
    let card = outbound(
        "contacts",
        None,
        json!({"contact": [{"fullName": "Ana", "phoneNumber": "+5511911112222"}]}),
    );
    assert_eq!(
        to_inbound("1", &card).unwrap().contacts.unwrap()[0].name,
        "Ana"
    );
    let reaction = outbound(
        "reaction",
        None,
        json!({"key": {"id": "X"}, "reaction": "👍"}),
    );
    assert_eq!(
        to_inbound("1", &reaction).unwrap().reaction.unwrap().emoji,
        "👍"
    );
    let buttons = outbound("buttons", Some("¿Confirma?"), json!({"buttons": []}));
    assert_eq!(
        to_inbound("1", &buttons).unwrap().text.as_deref(),
        Some("¿Confirma?")
    );
    assert!(to_inbound("1", &outbound("poll", None, json!({}))).is_err());
}
