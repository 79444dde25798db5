//! Test support for ngobrol: a real server on the real broker in a namespace of its
//! own, and a raw client that speaks the protocol exactly as the original
//! Java console client does.
//!
//! The broker is found at `NGOBROL_TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). When it does not answer, tests
//! fail with that message; they never skip.

// Test scaffolding holds connections and tasks that have nothing useful to
// print.
#![allow(missing_debug_implementations)]

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};
use ngobrol_amqp::{DEFAULT_AMQP_URL, Namespace};
use serde_json::Value;

mod broker;
mod faults;
mod isolated;
mod logs;
mod policy;
mod raw;
mod sdk;
mod server;

pub use broker::{PrivateBroker, PrivateCluster};
pub use faults::{Fault, Faults, FaultyStore, Gate};
pub use isolated::IsolatedServer;
pub use logs::ErrorLines;
pub use policy::QueueCap;
pub use raw::RawClient;
pub use sdk::{code, next_event};
pub use server::{
    Database, TestDatabase, TestServer, remove_broker_objects, remove_session_queues,
};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn amqp_url() -> String {
    std::env::var("NGOBROL_TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.into())
}

pub async fn connect() -> Connection {
    let url = amqp_url();
    Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ at {url} does not answer ({e}); start it or set NGOBROL_TEST_AMQP_URL")
        })
}

/// A fresh namespace, unique to one test.
pub fn fresh_namespace() -> Namespace {
    Namespace::parse(format!("t{}", uuid::Uuid::new_v4().simple())).unwrap()
}

/// Asserts an error reply with `code`, in the shape every error reply has.
#[track_caller]
pub fn assert_error(reply: &Value, method: &str, code: &str) {
    assert_eq!(reply["method"], format!("{method}_reply"), "{reply}");
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
    assert!(
        reply["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{reply}"
    );
}

#[track_caller]
pub fn assert_ok(reply: &Value, method: &str) {
    assert_eq!(reply["method"], format!("{method}_reply"), "{reply}");
    assert_eq!(reply["status"], "ok", "{reply}");
    assert!(reply.get("code").is_none(), "{reply}");
}
