//! No password or token ever shows in `Debug` output: every request, every
//! reply and a live session are formatted, and the secrets they carry are
//! looked for in the text.

use ngobrol_amqp::client::{Client, ClientOptions};
use ngobrol_amqp::wire::{
    AcceptFriend, AcceptInvitation, AddFriend, AddMemberToGroup, BlockUser, CreateGroup,
    DeclineFriend, DeclineInvitation, DeleteGroup, DeleteMessage, EditMessage, GetBlocked,
    GetConversations, GetFriend, GetFriendRequests, GetGroup, GetGroupMembers, GetHistory,
    GetPresence, GetSessions, KickMember, Login, LoginReply, Logout, LogoutAll, MarkDelivered,
    MarkRead, QuitFromGroup, Register, RemoveFriend, RenameGroup, Reply, Request, SendClient,
    SendGroup, SetPresence, ShareActivity, SyncRequest, TransferAdmin, Typing, UnblockUser,
    decode_request,
};
use serde_json::json;

const PASSWORD: &str = "pw-Zq81sEcRet";
const TOKEN: &str = "tok-Zq81sEcRet";

fn every_request() -> Vec<Request> {
    let name = || "ana".to_owned();
    vec![
        Register {
            username: name(),
            password: PASSWORD.into(),
            queue_name: None,
        }
        .into(),
        Login {
            username: name(),
            password: PASSWORD.into(),
            queue_name: Some("amq.gen-x".into()),
            device: Some("laptop".into()),
            session_queue: true,
        }
        .into(),
        AddFriend {
            username_from: name(),
            username_to: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        GetFriend {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        CreateGroup {
            username: name(),
            group_name: "g".into(),
            token: TOKEN.into(),
        }
        .into(),
        GetGroup {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        AddMemberToGroup {
            username_adder: name(),
            username_to_add: "budi".into(),
            group_id: 1,
            token: TOKEN.into(),
        }
        .into(),
        QuitFromGroup {
            username: name(),
            group_id: 1,
            token: TOKEN.into(),
        }
        .into(),
        SendClient {
            username_from: name(),
            username_to: "budi".into(),
            message: "m".into(),
            token: TOKEN.into(),
        }
        .into(),
        SendGroup {
            username_from: name(),
            group_id_to: 1,
            message: "m".into(),
            token: TOKEN.into(),
        }
        .into(),
        Logout {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        LogoutAll {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        GetSessions {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        GetHistory {
            username: name(),
            token: TOKEN.into(),
            with: Some("budi".into()),
            group_id: None,
            after: None,
            before: Some(9),
            limit: Some(10),
        }
        .into(),
        SyncRequest {
            username: name(),
            token: TOKEN.into(),
            after: 4,
            limit: None,
        }
        .into(),
        GetGroupMembers {
            username: name(),
            group_id: 1,
            token: TOKEN.into(),
        }
        .into(),
        KickMember {
            username: name(),
            group_id: 1,
            member: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        TransferAdmin {
            username: name(),
            group_id: 1,
            member: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        RenameGroup {
            username: name(),
            group_id: 1,
            group_name: "baru".into(),
            token: TOKEN.into(),
        }
        .into(),
        DeleteGroup {
            username: name(),
            group_id: 1,
            token: TOKEN.into(),
        }
        .into(),
        RemoveFriend {
            username_from: name(),
            username_to: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        BlockUser {
            username: name(),
            blocked: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        UnblockUser {
            username: name(),
            blocked: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        GetBlocked {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        EditMessage {
            username: name(),
            message_id: "019ac4c1-0000-7000-8000-000000000000".into(),
            message: "halo".into(),
            token: TOKEN.into(),
        }
        .into(),
        DeleteMessage {
            username: name(),
            message_id: "019ac4c1-0000-7000-8000-000000000000".into(),
            token: TOKEN.into(),
        }
        .into(),
        MarkRead {
            username: name(),
            token: TOKEN.into(),
            with: Some("budi".into()),
            group_id: None,
            seq: 3,
        }
        .into(),
        MarkDelivered {
            username: name(),
            token: TOKEN.into(),
            with: None,
            group_id: Some(7),
            seq: 3,
        }
        .into(),
        GetConversations {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        AcceptFriend {
            username: name(),
            friend: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        DeclineFriend {
            username: name(),
            friend: "budi".into(),
            token: TOKEN.into(),
        }
        .into(),
        GetFriendRequests {
            username: name(),
            token: TOKEN.into(),
        }
        .into(),
        AcceptInvitation {
            username: name(),
            group_id: 7,
            token: TOKEN.into(),
        }
        .into(),
        DeclineInvitation {
            username: name(),
            group_id: 7,
            token: TOKEN.into(),
        }
        .into(),
        Typing {
            username: name(),
            token: TOKEN.into(),
            with: Some("budi".into()),
            group_id: None,
        }
        .into(),
        SetPresence {
            username: name(),
            state: "online".into(),
            token: TOKEN.into(),
        }
        .into(),
        GetPresence {
            username: name(),
            usernames: vec!["budi".into()],
            token: TOKEN.into(),
        }
        .into(),
        ShareActivity {
            username: name(),
            share: false,
            token: TOKEN.into(),
        }
        .into(),
    ]
}

#[track_caller]
fn assert_hidden(text: &str) {
    assert!(!text.contains(PASSWORD), "a password in {text}");
    assert!(!text.contains(TOKEN), "a token in {text}");
}

#[test]
fn requests_and_their_decodings_print_no_secret() {
    let requests = every_request();
    assert_eq!(requests.len(), Request::METHODS.len(), "one per method");
    for request in requests {
        let body = serde_json::to_vec(&request).unwrap();
        // On the wire the secret is there, as the protocol has it ...
        let wire = String::from_utf8(body.clone()).unwrap();
        assert!(wire.contains(PASSWORD) || wire.contains(TOKEN), "{wire}");
        // ... and in no Debug output.
        assert_hidden(&format!("{request:?}"));
        assert_hidden(&format!("{:?}", decode_request(&body).unwrap()));
        // A request that fails to decode keeps its token for addressing.
        let mut broken: serde_json::Value = serde_json::from_slice(&body).unwrap();
        broken["username"] = json!(7);
        broken["username_from"] = json!(7);
        broken["username_adder"] = json!(7);
        if let Err(error) = decode_request(&serde_json::to_vec(&broken).unwrap()) {
            assert_hidden(&format!("{error:?}"));
        }
    }
}

#[test]
fn replies_print_no_token() {
    let reply = Reply::ok_with(
        "login",
        "logged in",
        LoginReply {
            token: TOKEN.into(),
            session_id: Some("0123456789abcdef0123456789abcdef".into()),
            ended_sessions: Vec::new(),
            cursor: None,
            mailbox_shared: false,
        },
    );
    assert!(String::from_utf8(reply.encode()).unwrap().contains(TOKEN));
    assert_hidden(&format!("{reply:?}"));
    let untyped: Reply = serde_json::from_slice(&reply.encode()).unwrap();
    let typed = untyped.typed::<LoginReply>().unwrap();
    assert_hidden(&format!("{typed:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_prints_no_token() {
    let server = ngobrol_testkit::TestServer::start().await;
    server.users.lock().unwrap().push("ana".into());
    let client = Client::connect(ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    })
    .await
    .unwrap();
    client.register("ana", PASSWORD).await.unwrap();
    let (session, events) = client.login("ana", PASSWORD).await.unwrap();
    let printed = format!("{session:?} {events:?} {client:?}");
    assert!(printed.contains("ana"), "{printed}");
    assert_hidden(&printed);
    // The session's token is real: it works.
    session.friends().await.unwrap();
}
