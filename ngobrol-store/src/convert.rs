//! Between the ports' types and the columns that store them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ngobrol_core::{
    DeviceName, GroupId, GroupName, GroupRecord, SessionId, SessionRecord, TokenHash, Username,
};

use crate::error::Failure;

pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn from_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

pub(crate) fn username(stored: String) -> Result<Username, Failure> {
    Username::parse(stored).map_err(|e| Failure::Corrupt(e.to_string()))
}

/// A `sessions` row as the store's queries select it: token hash,
/// session id, username, device, issued, expires, last seen.
pub(crate) type SessionRow = (String, String, String, Option<String>, i64, i64, i64);

pub(crate) fn session_id(stored: String) -> Result<SessionId, Failure> {
    SessionId::parse(stored.as_str()).map_err(|_| {
        Failure::Corrupt(format!(
            "session id {stored:?} is not 32 lower-case hexadecimal characters"
        ))
    })
}

pub(crate) fn session_record(
    (token_hash, id, name, device, issued_at, expires_at, last_seen_at): SessionRow,
) -> Result<SessionRecord, Failure> {
    Ok(SessionRecord {
        id: session_id(id)?,
        token_hash: TokenHash::from_stored(token_hash),
        username: username(name)?,
        device: device
            .map(DeviceName::parse)
            .transpose()
            .map_err(|e| Failure::Corrupt(e.to_string()))?,
        issued_at: from_millis(issued_at),
        expires_at: from_millis(expires_at),
        last_seen: from_millis(last_seen_at),
    })
}

pub(crate) fn group_record(
    (id, name, admin): (i64, String, String),
) -> Result<GroupRecord, Failure> {
    Ok(GroupRecord {
        id: GroupId::new(id),
        name: GroupName::parse(name).map_err(|e| Failure::Corrupt(e.to_string()))?,
        admin: username(admin)?,
    })
}
