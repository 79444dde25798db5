//! The wire format against the literal message structures of the original
//! README: every request decodes, every reply and delivery has exactly the
//! original's fields plus the documented extensions.

use std::time::{Duration, UNIX_EPOCH};

use ngobrol_amqp::wire::{DeliveryMessage, Reply, Request, Status, decode_request};
use ngobrol_core::{
    ChatError, Delivery, DeliveryBody, GroupId, GroupName, GroupRef, MessageId, MessageText,
    NoticeEvent, Placement, Username,
};
use serde_json::{Value, json};

fn decode(body: &str) -> Request {
    decode_request(body.as_bytes())
        .unwrap_or_else(|e| panic!("{body} did not decode: {e:?}"))
        .request
}

#[test]
fn every_request_of_the_original_readme_decodes() {
    let bodies = [
        r#"{"method":"register","username":"ana","password":"p","queue_name":"amq.gen-1"}"#,
        r#"{"method":"login","username":"ana","password":"p","queue_name":"amq.gen-1"}"#,
        r#"{"method":"add_friend","username_from":"ana","username_to":"budi","token":"t"}"#,
        r#"{"method":"get_friend","username":"ana","token":"t"}"#,
        r#"{"method":"create_group","username":"ana","group_name":"g","token":"t"}"#,
        r#"{"method":"get_group","username":"ana","token":"t"}"#,
        r#"{"method":"add_member_to_group","username_adder":"ana","username_to_add":"budi","group_id":3,"token":"t"}"#,
        r#"{"method":"quit_from_group","username":"ana","group_id":3,"token":"t"}"#,
        r#"{"method":"send_client","username_to":"budi","username_from":"ana","message":"m","token":"t"}"#,
        r#"{"method":"send_group","username_from":"ana","group_id_to":3,"message":"m","token":"t"}"#,
    ];
    for body in bodies {
        let request = decode(body);
        let method = serde_json::from_str::<Value>(body).unwrap()["method"].clone();
        assert_eq!(request.method(), method, "{body}");
        assert_eq!(request.acting_user(), "ana", "{body}");
        // Serialized again, a request is the same JSON object.
        let again = serde_json::to_value(&request).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<Value>(body).unwrap(),
            "{body}"
        );
    }
}

#[test]
fn unknown_fields_are_ignored_and_request_id_is_kept() {
    let envelope = decode_request(
        br#"{"method":"get_friend","username":"ana","token":"t","request_id":"r9","extra":[1]}"#,
    )
    .unwrap();
    assert_eq!(envelope.request_id, Some(json!("r9")));
    // Anything but a string or number is not an id.
    let envelope =
        decode_request(br#"{"method":"get_friend","username":"ana","token":"t","request_id":{}}"#)
            .unwrap();
    assert_eq!(envelope.request_id, None);
}

#[test]
fn group_ids_must_be_json_integers() {
    for body in [
        r#"{"method":"quit_from_group","username":"ana","group_id":"3","token":"t"}"#,
        r#"{"method":"quit_from_group","username":"ana","group_id":3.5,"token":"t"}"#,
        r#"{"method":"quit_from_group","username":"ana","group_id":null,"token":"t"}"#,
    ] {
        let error = decode_request(body.as_bytes()).unwrap_err();
        assert_eq!(error.code, "bad_request", "{body}");
        assert_eq!(error.reply_method(), "quit_from_group_reply");
        assert_eq!(error.acting_user.as_deref(), Some("ana"));
        assert_eq!(error.token.as_ref().map(|t| t.expose()), Some("t"));
    }
}

#[test]
fn arbitrary_bytes_never_panic_the_decoder() {
    const ALPHABET: &[u8] = b"{}[]\":,0123456789abcdefmethodregisterusername_ \\u\xff";
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 97)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ALPHABET[(seed % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let _ = decode_request(&bytes);
    }
}

#[test]
fn replies_have_the_original_fields() {
    let ok = serde_json::to_value(Reply::ok("register", "registered ana")).unwrap();
    assert_eq!(
        ok,
        json!({"method": "register_reply", "status": "ok", "description": "registered ana"})
    );

    let error = Reply::from_error("login", &ChatError::InvalidCredentials);
    assert_eq!(error.status, Status::Error);
    let error = serde_json::to_value(error).unwrap();
    assert_eq!(error["method"], "login_reply");
    assert_eq!(error["status"], "error");
    assert_eq!(error["code"], "invalid_credentials");
    assert_eq!(error["token"], "");

    let error =
        serde_json::to_value(Reply::from_error("get_friend", &ChatError::InvalidToken)).unwrap();
    assert_eq!(error["usernames"], json!([]));
    let error =
        serde_json::to_value(Reply::from_error("get_group", &ChatError::InvalidToken)).unwrap();
    assert_eq!(error["groups"], json!([]));

    let internal = Reply::from_error(
        "add_friend",
        &ChatError::Internal("db password is x".into()),
    );
    assert!(!internal.description.contains("password"));
}

fn at(ms: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[test]
fn deliveries_have_the_original_fields_plus_id_and_time() {
    let ana = Username::parse("ana").unwrap();
    let group = GroupRef {
        id: GroupId::new(3),
        name: GroupName::parse("Keluarga").unwrap(),
    };
    let id = MessageId::generate();
    let direct = Delivery {
        id,
        sent_at: at(1_764_130_000_123),
        body: DeliveryBody::Direct {
            from: ana.clone(),
            text: MessageText::parse("halo", 10).unwrap(),
        },
        placement: None,
    };
    assert_eq!(
        serde_json::to_value(DeliveryMessage::from_delivery(&direct)).unwrap(),
        json!({
            "method": "send_client", "username_from": "ana", "message": "halo",
            "message_id": id.to_string(), "sent_at": "2025-11-26T04:06:40.123Z",
        })
    );
    // Once stored, it says where it is in the history.
    let stored = Delivery {
        placement: Some(Placement {
            position: 900,
            seq: 7,
        }),
        ..direct.clone()
    };
    let value = serde_json::to_value(DeliveryMessage::from_delivery(&stored)).unwrap();
    assert_eq!(
        (value["cursor"].clone(), value["seq"].clone()),
        (json!(900), json!(7))
    );
    assert!(
        value.get("username_to").is_none(),
        "a delivery is to its reader"
    );

    let grouped = Delivery {
        body: DeliveryBody::Group {
            from: ana.clone(),
            group: group.clone(),
            text: MessageText::parse("halo", 10).unwrap(),
        },
        ..direct.clone()
    };
    let value = serde_json::to_value(DeliveryMessage::from_delivery(&grouped)).unwrap();
    assert_eq!(value["method"], "send_group");
    assert_eq!(value["group_id_to"], 3);
    assert_eq!(value["group_name_to"], "Keluarga");
    assert!(value.get("notice").is_none());

    let notice = Delivery {
        body: DeliveryBody::Notice {
            group,
            event: NoticeEvent::Left { member: ana },
        },
        ..direct
    };
    let value = serde_json::to_value(DeliveryMessage::from_delivery(&notice)).unwrap();
    assert_eq!(value["username_from"], "admin");
    assert_eq!(value["notice"], true);
    assert_eq!(value["message"], "ana left Keluarga");
}
