//! Any bytes at all, as a request body: decoding must never panic, and an
//! error must always carry a code and a reply method.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ngobrol_amqp::wire::{Reply, decode_request};

fuzz_target!(|body: &[u8]| {
    match decode_request(body) {
        Ok(envelope) => {
            let _ = envelope.request.method();
            // A decoded request always encodes again.
            serde_json::to_vec(&envelope.request).expect("a request encodes");
        }
        Err(error) => {
            assert!(!error.code.is_empty());
            let reply = Reply::from_decode_error(&error);
            assert!(reply.method == "error" || reply.method.ends_with("_reply"));
            let _ = reply.encode();
        }
    }
});
