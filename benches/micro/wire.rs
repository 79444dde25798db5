//! Micro benchmarks of the JSON wire format: decoding every request kind,
//! encoding every reply shape, and encoding every delivery kind. These run
//! once per request (decode, reply) and once per delivery on the server's
//! hot path.
//!
//! ```sh
//! cargo bench -p ngobrol-benches --bench wire
//! ```

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ngobrol_amqp::wire::{
    DeliveryMessage, GetFriendReply, GetGroupReply, GroupEntry, LoginReply, NoBody, Reply, Sent,
    decode_request,
};
use ngobrol_core::{
    Delivery, DeliveryBody, GroupId, GroupName, GroupRef, MessageId, MessageText, NoticeEvent,
    Placement, Username,
};
use serde_json::json;

/// A message text of the size people type: a sentence or two.
const TEXT: &str =
    "halo! are we still meeting at the usual place tomorrow at seven? bring the book";
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz234567";

/// One body per request kind, as a client sends it (with a request id, as
/// the SDK does).
fn requests() -> Vec<(&'static str, Vec<u8>)> {
    let bodies = [
        (
            "register",
            json!({"method": "register", "username": "ana", "password": "rahasia!",
                   "queue_name": "amq.gen-JzTY20BRgKO-HjmUJj0wLg"}),
        ),
        (
            "login",
            json!({"method": "login", "username": "ana", "password": "rahasia!",
                   "queue_name": "amq.gen-JzTY20BRgKO-HjmUJj0wLg"}),
        ),
        (
            "add_friend",
            json!({"method": "add_friend", "username_from": "ana", "username_to": "budi",
                   "token": TOKEN}),
        ),
        (
            "get_friend",
            json!({"method": "get_friend", "username": "ana", "token": TOKEN}),
        ),
        (
            "create_group",
            json!({"method": "create_group", "username": "ana", "group_name": "Keluarga",
                   "token": TOKEN}),
        ),
        (
            "get_group",
            json!({"method": "get_group", "username": "ana", "token": TOKEN}),
        ),
        (
            "add_member_to_group",
            json!({"method": "add_member_to_group", "username_adder": "ana",
                   "username_to_add": "budi", "group_id": 3, "token": TOKEN}),
        ),
        (
            "quit_from_group",
            json!({"method": "quit_from_group", "username": "ana", "group_id": 3,
                   "token": TOKEN}),
        ),
        (
            "send_client",
            json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                   "message": TEXT, "token": TOKEN}),
        ),
        (
            "send_group",
            json!({"method": "send_group", "username_from": "ana", "group_id_to": 3,
                   "message": TEXT, "token": TOKEN}),
        ),
        (
            "logout",
            json!({"method": "logout", "username": "ana", "token": TOKEN}),
        ),
    ];
    bodies
        .into_iter()
        .map(|(name, mut body)| {
            body["request_id"] = json!(42);
            (name, serde_json::to_vec(&body).unwrap())
        })
        .collect()
}

/// An encoder of one reply, built once.
type Encode = Box<dyn Fn() -> Vec<u8>>;

/// Encodes `reply` (typed, as the server builds it) each time it is called.
fn encoder<B: serde::Serialize + 'static>(reply: Reply<B>) -> Encode {
    Box::new(move || black_box(&reply).encode())
}

/// One reply per shape the server sends.
fn replies() -> Vec<(&'static str, Encode)> {
    let id = Some(json!(42));
    let login = LoginReply {
        token: TOKEN.into(),
        session_id: Some("0123456789abcdef0123456789abcdef".into()),
        ended_sessions: Vec::new(),
        cursor: Some(1_234_567),
        mailbox_shared: false,
    };
    let friends = GetFriendReply {
        usernames: (0..20).map(|i| format!("friend{i:02}")).collect(),
    };
    let groups = GetGroupReply {
        groups: (0..10)
            .map(|i| GroupEntry {
                group_name: format!("group {i}"),
                group_id: i,
            })
            .collect(),
    };
    let sent = Sent {
        message_id: Some(MessageId::generate().to_string()),
    };
    vec![
        (
            "plain_ok",
            encoder(
                Reply::ok_with("add_friend", "budi is now your friend", NoBody {})
                    .with_request_id(id.clone()),
            ),
        ),
        (
            "login",
            encoder(Reply::ok_with("login", "logged in as ana", login).with_request_id(id.clone())),
        ),
        (
            "get_friend_20",
            encoder(
                Reply::ok_with("get_friend", "20 friends", friends).with_request_id(id.clone()),
            ),
        ),
        (
            "get_group_10",
            encoder(Reply::ok_with("get_group", "10 groups", groups).with_request_id(id.clone())),
        ),
        (
            "send_client",
            encoder(
                Reply::ok_with("send_client", "message sent to budi", sent)
                    .with_request_id(id.clone()),
            ),
        ),
        (
            "error",
            encoder(
                Reply::refusal(
                    "send_client",
                    "not_friends",
                    "budi is not your friend",
                    Sent::default(),
                )
                .with_request_id(id),
            ),
        ),
    ]
}

/// One delivery per kind.
fn deliveries() -> Vec<(&'static str, Delivery)> {
    let ana = Username::parse("ana").unwrap();
    let group = GroupRef {
        id: GroupId::new(3),
        name: GroupName::parse("Keluarga").unwrap(),
    };
    let text = || MessageText::parse(TEXT, MessageText::DEFAULT_MAX_BYTES).unwrap();
    let stamp = |body| Delivery {
        id: MessageId::generate(),
        sent_at: SystemTime::now(),
        body,
        placement: Some(Placement {
            position: 1_234_567,
            seq: 4_321,
        }),
    };
    vec![
        (
            "direct",
            stamp(DeliveryBody::Direct {
                from: ana.clone(),
                text: text(),
            }),
        ),
        (
            "group",
            stamp(DeliveryBody::Group {
                from: ana.clone(),
                group: group.clone(),
                text: text(),
            }),
        ),
        (
            "notice",
            stamp(DeliveryBody::Notice {
                group,
                event: NoticeEvent::Joined {
                    member: Username::parse("budi").unwrap(),
                    by: ana,
                },
            }),
        ),
    ]
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_request");
    for (name, body) in requests() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| decode_request(black_box(&body)).unwrap())
        });
    }
    group.finish();
}

fn encode_replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply_encode");
    for (name, encode) in replies() {
        group.bench_function(name, |b| b.iter(&encode));
    }
    group.finish();
}

fn encode_deliveries(c: &mut Criterion) {
    let mut group = c.benchmark_group("delivery_encode");
    for (name, delivery) in deliveries() {
        // What the outbound port does per delivery: the wire shape (with
        // the id and RFC 3339 time formatted), then JSON.
        group.bench_function(name, |b| {
            b.iter(|| DeliveryMessage::from_delivery(black_box(&delivery)).encode())
        });
    }
    group.finish();
}

criterion_group! {
    name = wire;
    // Short runs: these take nanoseconds to microseconds each, and the
    // machine is shared.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decode, encode_replies, encode_deliveries
}
criterion_main!(wire);
