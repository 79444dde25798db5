//! Validated value types. Each is built only through `parse` (or, for
//! server-made values, a constructor that cannot produce an invalid one), so
//! a function that receives a [`Username`] never has to ask whether it is
//! well formed.

mod ids;
mod names;
mod secrets;
mod text;

pub use ids::{MessageId, SessionId};
pub use names::{DeviceName, GroupId, GroupName, Username};
pub use secrets::{Password, Token, TokenHash};
pub use text::MessageText;
