//! What the server counts, through the [`metrics`] facade: the embedder
//! installs a recorder (the `ngobrol-server` binary exports Prometheus
//! text on `/metrics`); without one, each count costs next to nothing.
//! Every name starts with `ngobrol_`; docs/operations.md lists them.

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Requests answered, by method and outcome code (`ok`, an error code,
/// `replayed` for an answer from the de-duplication record).
pub const REQUESTS: &str = "ngobrol_requests_total";
/// Time from taking a request to settling it, by method, in seconds.
pub const REQUEST_DURATION: &str = "ngobrol_request_duration_seconds";
/// Messages published to people, by kind: `direct` or `group`.
pub const DELIVERIES: &str = "ngobrol_deliveries_total";
/// Broker connections made after the first.
pub const RECONNECTS: &str = "ngobrol_broker_reconnects_total";
/// 1 while connected to the broker and consuming requests, else 0.
pub const CONNECTED: &str = "ngobrol_broker_connected";
/// 1 while this server takes in the request queue for every server.
pub const INTAKE: &str = "ngobrol_intake_active";
/// Requests answered from the de-duplication record.
pub const DEDUP_HITS: &str = "ngobrol_dedup_hits_total";
/// Requests refused `rate_limited`.
pub const RATE_LIMITED: &str = "ngobrol_rate_limited_total";

/// The method label of a request that could not be decoded.
pub(super) const UNDECODED: &str = "undecoded";

pub(super) fn request(method: &'static str, code: &'static str, took: Duration) {
    counter!(REQUESTS, "method" => method, "code" => code).increment(1);
    histogram!(REQUEST_DURATION, "method" => method).record(took.as_secs_f64());
    if code == "rate_limited" {
        counter!(RATE_LIMITED).increment(1);
    }
}

pub(super) fn dedup_hit() {
    counter!(DEDUP_HITS).increment(1);
}

pub(super) fn delivered(kind: &'static str) {
    counter!(DELIVERIES, "kind" => kind).increment(1);
}

pub(super) fn connected(yes: bool) {
    gauge!(CONNECTED).set(if yes { 1.0 } else { 0.0 });
}

pub(super) fn intake(yes: bool) {
    gauge!(INTAKE).set(if yes { 1.0 } else { 0.0 });
}

pub(super) fn reconnected() {
    counter!(RECONNECTS).increment(1);
}

/// Describes every metric to the installed recorder and sets the
/// counters without labels to zero, so that a scraper sees them all from
/// the start. Call once, after installing a recorder.
pub fn describe() {
    describe_counter!(REQUESTS, "Requests answered, by method and outcome code.");
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from taking a request to settling it."
    );
    describe_counter!(
        DELIVERIES,
        "Messages published to people, by kind (direct, group)."
    );
    describe_counter!(RECONNECTS, "Broker connections made after the first.");
    describe_gauge!(
        CONNECTED,
        "1 while connected to the broker and consuming requests."
    );
    describe_gauge!(
        INTAKE,
        "1 while this server takes in the request queue for every server."
    );
    describe_counter!(
        DEDUP_HITS,
        "Requests answered from the de-duplication record."
    );
    describe_counter!(RATE_LIMITED, "Requests refused for the user's rate limit.");
    describe_gauge!(
        ngobrol_core::password::HASHING_QUEUE,
        "Password hashes waiting for a permit."
    );
    describe_histogram!(
        ngobrol_core::password::HASHING_WAIT,
        Unit::Seconds,
        "How long a password hash waited for a permit."
    );
    for name in [RECONNECTS, DEDUP_HITS, RATE_LIMITED] {
        counter!(name).absolute(0);
    }
    for kind in ["direct", "group"] {
        counter!(DELIVERIES, "kind" => kind).absolute(0);
    }
    gauge!(CONNECTED).set(0.0);
    gauge!(INTAKE).set(0.0);
    gauge!(ngobrol_core::password::HASHING_QUEUE).set(0.0);
}
