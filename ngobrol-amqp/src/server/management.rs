//! Closing an ended session's broker connections (isolated mode), through
//! RabbitMQ's management API: each session's connection is named after
//! its queue (`<ns>.session.<id>`, which the SDK gives it), so those of one
//! session are found by name and closed, whoever else the user is
//! connected as.

use ngobrol_core::PortError;
use serde_json::Value;

/// The management API of the broker, with an account that may close
/// connections (`administrator`, or `monitoring` plus rights on the vhost).
#[derive(Clone)]
pub struct Management {
    /// `http://host:15672`, without a trailing slash.
    base: String,
    /// `Basic …`.
    authorization: String,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Management {
    /// From `http://user:password@host:port` (the user information is the
    /// API's account).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "the management URL must be http://…, got {:?}",
                crate::redact_url(url)
            )
        })?;
        let (userinfo, host) = rest.rsplit_once('@').ok_or(
            "the management URL needs user:password@ of an account that may close connections",
        )?;
        let credentials = data_encoding::BASE64.encode(userinfo.as_bytes());
        Ok(Self {
            base: format!("http://{}", host.trim_end_matches('/')),
            authorization: format!("Basic {credentials}"),
        })
    }

    /// Closes every connection named `name`; returns how many. Blocking:
    /// call it off the async workers.
    pub fn close_named(&self, name: &str) -> Result<usize, PortError> {
        let fail = |e: ureq::Error| PortError::Unavailable(format!("management API: {e}"));
        let listing = ureq::get(format!(
            "{}/api/connections?columns=name,client_properties",
            self.base
        ))
        .header("Authorization", &self.authorization)
        .call()
        .map_err(fail)?
        .body_mut()
        .read_to_string()
        .map_err(fail)?;
        let connections: Value = serde_json::from_str(&listing)
            .map_err(|e| PortError::Unavailable(format!("management API: {e}")))?;
        let mut closed = 0;
        for connection in connections.as_array().into_iter().flatten() {
            let named = connection["client_properties"]["connection_name"].as_str() == Some(name);
            let Some(id) = connection["name"].as_str().filter(|_| named) else {
                continue;
            };
            ureq::delete(format!("{}/api/connections/{}", self.base, encode(id)))
                .header("Authorization", &self.authorization)
                .header("X-Reason", "the ngobrol session ended")
                .call()
                .map_err(fail)?;
            closed += 1;
        }
        Ok(closed)
    }
}

/// When an ended session's connections are looked for: at once, then
/// twice more, since a connection shows in the management API only once
/// the broker has collected its statistics (every 5 s by default).
const CLOSE_ATTEMPTS: [std::time::Duration; 3] = [
    std::time::Duration::ZERO,
    std::time::Duration::from_secs(5),
    std::time::Duration::from_secs(6),
];

/// Closes the connections named `name`, looking again a few seconds
/// later while none is found.
pub(super) async fn close_soon(management: Management, name: String) {
    for wait in CLOSE_ATTEMPTS {
        tokio::time::sleep(wait).await;
        let (api, named) = (management.clone(), name.clone());
        match tokio::task::spawn_blocking(move || api.close_named(&named)).await {
            Ok(Ok(0)) => continue,
            Ok(Ok(closed)) => {
                tracing::debug!(connection = %name, closed, "closed an ended session's connections");
                return;
            }
            Ok(Err(e)) => {
                // The session has ended in the store all the same; its
                // connections can do nothing more.
                tracing::warn!(connection = %name, "cannot close an ended session's connections: {e}");
                return;
            }
            Err(e) => {
                tracing::warn!("the management API task failed: {e}");
                return;
            }
        }
    }
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
