//! The replies of requests clients named, for de-duplication.

use std::time::SystemTime;

use async_trait::async_trait;
use diesel::prelude::*;
use ngobrol_core::{PortError, RequestKey, RequestLog};

use crate::convert::to_millis;
use crate::open::Store;
use crate::schema::request_log;

#[async_trait]
impl RequestLog for Store {
    async fn find_reply(&self, key: &RequestKey) -> Result<Option<Vec<u8>>, PortError> {
        let (user, id) = (key.user.clone(), key.request_id.clone());
        with_conn!(self, |conn| {
            Ok(request_log::table
                .find((user, id))
                .select(request_log::reply)
                .get_result::<Vec<u8>>(conn)
                .optional()?)
        })
    }

    async fn record_reply(
        &self,
        key: &RequestKey,
        reply: &[u8],
        at: SystemTime,
    ) -> Result<(), PortError> {
        let row = (
            request_log::username.eq(key.user.clone()),
            request_log::request_id.eq(key.request_id.clone()),
            request_log::reply.eq(reply.to_vec()),
            request_log::created_at.eq(to_millis(at)),
        );
        with_conn!(self, |conn| {
            diesel::insert_into(request_log::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(())
        })
    }

    async fn prune(&self, before: SystemTime, keep: u64) -> Result<u64, PortError> {
        let before = to_millis(before);
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        with_conn!(self, |conn| {
            let mut removed =
                diesel::delete(request_log::table.filter(request_log::created_at.lt(before)))
                    .execute(conn)?;
            if keep == 0 {
                removed += diesel::delete(request_log::table).execute(conn)?;
                return Ok(removed as u64);
            }
            // Past the size bound, keep only the newest `keep`: find the
            // creation time of the oldest one kept and drop what is older.
            let cutoff = request_log::table
                .select(request_log::created_at)
                .order(request_log::created_at.desc())
                .offset(keep - 1)
                .first::<i64>(conn)
                .optional()?;
            if let Some(cutoff) = cutoff {
                removed +=
                    diesel::delete(request_log::table.filter(request_log::created_at.lt(cutoff)))
                        .execute(conn)?;
            }
            Ok(removed as u64)
        })
    }
}
