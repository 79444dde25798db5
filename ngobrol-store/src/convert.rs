//! Between the ports' types and the columns that store them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ngobrol_core::{GroupId, GroupName, GroupRecord, Username};

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

pub(crate) fn group_record(
    (id, name, admin): (i64, String, String),
) -> Result<GroupRecord, Failure> {
    Ok(GroupRecord {
        id: GroupId::new(id),
        name: GroupName::parse(name).map_err(|e| Failure::Corrupt(e.to_string()))?,
        admin: username(admin)?,
    })
}
