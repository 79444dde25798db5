//! Properties of the wire decoder over generated input: it never panics,
//! it classifies every failure with a code, and what it accepts encodes
//! back to the same request. The cargo-fuzz target in `fuzz/` explores the
//! same ground with coverage guidance.

use ngobrol_amqp::wire::{Reply, decode_request};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const METHODS: [&str; 12] = [
    "register",
    "login",
    "add_friend",
    "get_friend",
    "create_group",
    "get_group",
    "add_member_to_group",
    "quit_from_group",
    "send_client",
    "send_group",
    "logout",
    "no_such_method",
];

const FIELDS: [&str; 13] = [
    "username",
    "password",
    "queue_name",
    "username_from",
    "username_to",
    "token",
    "group_name",
    "username_adder",
    "username_to_add",
    "group_id",
    "group_id_to",
    "message",
    "request_id",
];

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Request-shaped objects: a method (maybe unknown) and protocol fields
/// with values of any type.
fn request_like() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&METHODS[..]),
        prop::collection::vec((prop::sample::select(&FIELDS[..]), any_json()), 0..8),
    )
        .prop_map(|(method, fields)| {
            let mut object = Map::new();
            object.insert("method".into(), json!(method));
            for (field, value) in fields {
                object.insert(field.into(), value);
            }
            Value::Object(object)
        })
}

fn check(body: &[u8]) {
    match decode_request(body) {
        Ok(envelope) => {
            let encoded = serde_json::to_value(&envelope.request).unwrap();
            let again = decode_request(&serde_json::to_vec(&encoded).unwrap()).unwrap();
            assert_eq!(again.request, envelope.request);
        }
        Err(error) => {
            assert!(
                matches!(error.code, "bad_request" | "unknown_method"),
                "{error:?}"
            );
            let reply = Reply::from_decode_error(&error);
            assert!(reply.method == "error" || reply.method.ends_with("_reply"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        check(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn request_shaped_objects_decode_or_are_refused_with_a_code(value in request_like()) {
        check(&serde_json::to_vec(&value).unwrap());
    }
}
