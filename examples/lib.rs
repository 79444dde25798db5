//! Runnable examples of ngobrol, as `[[example]]` targets of this package:
//!
//! - `in_process`: the chat rules with in-memory ports; no broker, no
//!   database;
//! - `echo_bot`: a bot on the client SDK that answers direct messages;
//! - `raw_client`: the wire protocol step by step with plain lapin and
//!   serde_json, for clients in other languages;
//! - `embedded_server`: the server as a library inside another program.
//!
//! `tests/examples.rs` runs each of them against a real server.
