//! Every sentence the server sends people: replies' `description` and the
//! text of group notices, in Indonesian (the original server's sentences,
//! word for word, where it had one) and in English.
//!
//! Codes are the machine-readable contract; these sentences are for the
//! people reading a console client. Both login failures share one
//! sentence, so a reply does not tell which usernames exist.

use ngobrol_core::{ChatError, GroupName, NoticeEvent};

use crate::wire::{DecodeError, Language};

/// What a request did, for its success reply's description.
#[derive(Debug)]
pub(crate) enum Said {
    Registered,
    LoggedIn,
    FriendAdded { friend: String },
    FriendAsked { friend: String },
    FriendAccepted { friend: String },
    FriendDeclined { friend: String },
    RequestsListed { count: usize },
    MemberInvited { member: String, group: i64 },
    InvitationAccepted { group: i64 },
    InvitationDeclined { group: i64 },
    FriendsListed { count: usize },
    GroupCreated { name: String, id: i64 },
    GroupsListed { count: usize },
    MemberAdded { member: String, group: i64 },
    GroupLeft { member: String, group: i64 },
    SentDirect { to: String },
    SentToGroup { group: i64 },
    LoggedOut,
    LoggedOutAll { count: usize },
    SessionsListed { count: usize },
    HistoryRead { count: usize },
    Synced { count: usize },
    MembersListed { count: usize },
    MemberRemoved { member: String, group: i64 },
    AdminTransferred { member: String, group: i64 },
    GroupRenamed { name: String, group: i64 },
    GroupClosed { group: i64 },
    FriendRemoved { friend: String },
    Blocked { user: String },
    Unblocked { user: String },
    BlockedListed { count: usize },
    MessageEdited,
    MessageDeleted,
    Marked,
    Typing,
    PresenceSet,
    PresenceListed { count: usize },
    ActivityShared { share: bool },
    ConversationsListed { count: usize },
}

impl Said {
    /// The sentence, in `lang`.
    pub fn text(&self, lang: Language) -> String {
        match lang {
            Language::En => self.english(),
            _ => self.indonesian(),
        }
    }

    fn indonesian(&self) -> String {
        match self {
            Said::Registered => "Akun berhasil dibuat.".into(),
            Said::LoggedIn => "Login berhasil.".into(),
            Said::FriendAdded { .. } => "Teman berhasil ditambahkan.".into(),
            Said::FriendAsked { friend } => {
                format!("Permintaan pertemanan terkirim ke {friend}. Tunggu dia menerimanya.")
            }
            Said::FriendAccepted { friend } => format!("Kamu sekarang berteman dengan {friend}."),
            Said::FriendDeclined { friend } => format!("Permintaan dari {friend} ditolak."),
            Said::RequestsListed { .. } => "Daftar permintaan berhasil diambil.".into(),
            Said::MemberInvited { member, .. } => {
                format!("{member} diundang ke grup. Tunggu dia menerimanya.")
            }
            Said::InvitationAccepted { .. } => "Kamu sekarang anggota grup.".into(),
            Said::InvitationDeclined { .. } => "Undangan grup ditolak.".into(),
            Said::FriendsListed { .. } => "Teman berhasil diambil.".into(),
            Said::GroupCreated { .. } => "Group berhasil ditambahkan.".into(),
            Said::GroupsListed { .. } => "Group berhasil diambil".into(),
            Said::MemberAdded { member, .. } => format!("{member} berhasil ditambahkan."),
            Said::GroupLeft { member, .. } => format!("{member} berhasil keluar grup"),
            Said::SentDirect { .. } | Said::SentToGroup { .. } => "Message berhasil dikirim".into(),
            Said::LoggedOut => "Logout berhasil. Token ini tidak berlaku lagi.".into(),
            Said::LoggedOutAll { count } => format!("{count} sesi berhasil diakhiri."),
            Said::SessionsListed { .. } => "Sesi berhasil diambil.".into(),
            Said::HistoryRead { .. } => "Riwayat berhasil diambil.".into(),
            Said::Synced { count } => format!("{count} pesan berhasil diambil."),
            Said::MembersListed { .. } => "Anggota grup berhasil diambil.".into(),
            Said::MemberRemoved { member, .. } => format!("{member} berhasil dikeluarkan."),
            Said::AdminTransferred { member, .. } => format!("{member} sekarang admin grup."),
            Said::GroupRenamed { name, .. } => {
                format!("Nama grup berhasil diganti menjadi {name}.")
            }
            Said::GroupClosed { .. } => "Grup berhasil ditutup.".into(),
            Said::FriendRemoved { friend } => format!("{friend} bukan temanmu lagi."),
            Said::Blocked { user } => format!("{user} berhasil diblokir."),
            Said::Unblocked { user } => format!("Blokir {user} berhasil dibuka."),
            Said::BlockedListed { .. } => "Daftar blokir berhasil diambil.".into(),
            Said::MessageEdited => "Pesan berhasil diubah.".into(),
            Said::MessageDeleted => "Pesan berhasil dihapus.".into(),
            Said::Marked => "Tanda baca berhasil disimpan.".into(),
            Said::Typing => "Sedang mengetik.".into(),
            Said::PresenceSet => "Status berhasil disimpan.".into(),
            Said::PresenceListed { .. } => "Status teman berhasil diambil.".into(),
            Said::ActivityShared { share: true } => "Status dan ketikanmu terlihat teman.".into(),
            Said::ActivityShared { share: false } => {
                "Status dan ketikanmu disembunyikan dari teman.".into()
            }
            Said::ConversationsListed { .. } => "Daftar percakapan berhasil diambil.".into(),
        }
    }

    fn english(&self) -> String {
        match self {
            Said::Registered => "Account created.".into(),
            Said::LoggedIn => "Logged in.".into(),
            Said::FriendAdded { friend } => format!("{friend} is now your friend."),
            Said::FriendAsked { friend } => {
                format!("Asked {friend} to be your friend; they must accept.")
            }
            Said::FriendAccepted { friend } => format!("{friend} is now your friend."),
            Said::FriendDeclined { friend } => format!("Declined {friend}'s request."),
            Said::RequestsListed { count } => format!("{count} waiting."),
            Said::MemberInvited { member, group } => {
                format!("Invited {member} to group {group}; they must accept.")
            }
            Said::InvitationAccepted { group } => format!("Joined group {group}."),
            Said::InvitationDeclined { group } => {
                format!("Declined the invitation to group {group}.")
            }
            Said::FriendsListed { count } => format!("{count} friends."),
            Said::GroupCreated { name, id } => format!("Created group {name} with id {id}."),
            Said::GroupsListed { count } => format!("{count} groups."),
            Said::MemberAdded { member, group } => format!("Added {member} to group {group}."),
            Said::GroupLeft { group, .. } => format!("You left group {group}."),
            Said::SentDirect { to } => format!("Message sent to {to}."),
            Said::SentToGroup { group } => format!("Message sent to group {group}."),
            Said::LoggedOut => "Logged out; the token no longer works.".into(),
            Said::LoggedOutAll { count } => format!("Ended {count} sessions."),
            Said::SessionsListed { count } => format!("{count} sessions."),
            Said::HistoryRead { count } => format!("{count} messages."),
            Said::Synced { count } => format!("{count} messages to catch up on."),
            Said::MembersListed { count } => format!("{count} members."),
            Said::MemberRemoved { member, group } => {
                format!("Removed {member} from group {group}.")
            }
            Said::AdminTransferred { member, group } => {
                format!("{member} is now the admin of group {group}.")
            }
            Said::GroupRenamed { name, group } => format!("Group {group} is now called {name}."),
            Said::GroupClosed { group } => format!("Closed group {group}."),
            Said::FriendRemoved { friend } => format!("{friend} is no longer your friend."),
            Said::Blocked { user } => format!("Blocked {user}."),
            Said::Unblocked { user } => format!("Unblocked {user}."),
            Said::BlockedListed { count } => format!("{count} blocked."),
            Said::MessageEdited => "Message edited.".into(),
            Said::MessageDeleted => "Message deleted.".into(),
            Said::Marked => "Marked.".into(),
            Said::Typing => "Typing.".into(),
            Said::PresenceSet => "Presence noted.".into(),
            Said::PresenceListed { count } => format!("{count} friends."),
            Said::ActivityShared { share: true } => {
                "Your friends see your presence and typing.".into()
            }
            Said::ActivityShared { share: false } => {
                "Your presence and typing are hidden from your friends.".into()
            }
            Said::ConversationsListed { count } => format!("{count} conversations."),
        }
    }
}

/// The description of `error` refusing a `method` request, in `lang`.
pub(crate) fn refusal(lang: Language, method: &str, error: &ChatError) -> String {
    match lang {
        Language::En => error.public_description(),
        _ => indonesian_refusal(method, error),
    }
}

fn indonesian_refusal(method: &str, error: &ChatError) -> String {
    use ChatError as E;
    let in_group = matches!(method, "add_member_to_group" | "quit_from_group");
    match error {
        E::InvalidToken if in_group => "Invalid token.".into(),
        E::InvalidToken => "Token invalid.".into(),
        E::UsernameTaken => "Username telah dipakai. Silakan cari yang lain.".into(),
        E::InvalidCredentials => "Username atau password salah.".into(),
        E::CannotBefriendSelf => "Kamu tidak bisa menambah dirimu sendiri sebagai teman.".into(),
        E::UnknownUser(_) if method == "send_client" => "Destination user not exists.".into(),
        E::UnknownUser(_) => "Username tidak ada.".into(),
        E::AlreadyFriends(user) => format!("Kamu sudah menambahkan {user} sebagai teman."),
        E::NotFriends(user) => {
            format!("Kamu bukan teman {user}. Jadilah teman dahulu baru ngechat.")
        }
        E::UnknownGroup(_) if method == "send_group" => "Group tidak ada.".into(),
        E::UnknownGroup(_) => "Group tidak ditemukan.".into(),
        E::NotGroupAdmin(_) => "Hanya admin yang boleh menambahkan anggota grup ini.".into(),
        E::AlreadyMember { user, .. } => format!("{user} sudah merupakan anggota grup."),
        E::NotMember { .. }
            if matches!(method, "send_group" | "get_history" | "get_group_members") =>
        {
            "Kamu bukan anggota grup ini.".into()
        }
        E::NotMember { user, .. } if matches!(method, "kick_member" | "transfer_admin") => {
            format!("{user} bukan anggota grup ini.")
        }
        E::NotMember { user, .. } => format!("{user} bukan member grup. Ngapain keluar?"),
        other => indonesian_limit(other),
    }
}

/// Refusals the original never made: in Indonesian, in its tone.
fn indonesian_limit(error: &ChatError) -> String {
    use ChatError as E;
    let wait = |d: &std::time::Duration| d.as_millis().max(1);
    match error {
        E::InvalidUsername(_) => {
            "Username tidak valid. Pakai 1 sampai 64 huruf, angka, titik, garis bawah atau tanda minus."
                .into()
        }
        E::ReservedUsername => "Username itu tidak boleh dipakai. Silakan cari yang lain.".into(),
        E::InvalidGroupName(_) => "Nama group tidak valid.".into(),
        E::InvalidPassword(_) => "Password tidak valid: terlalu pendek atau terlalu panjang.".into(),
        E::MessageTooLong { max_bytes } => {
            format!("Message terlalu panjang. Maksimal {max_bytes} byte.")
        }
        E::GroupFull { max, .. } => format!("Group sudah penuh. Maksimal {max} anggota."),
        E::TooManyGroups { user, max } => format!("{user} sudah punya {max} group. Tidak bisa lebih."),
        E::InvalidDeviceName(_) => "Nama perangkat tidak valid.".into(),
        E::UnknownSession => "Sesi tidak ditemukan.".into(),
        E::UnknownMessage => "Pesan tidak ditemukan.".into(),
        E::NoRequest(user) => format!("{user} tidak meminta berteman denganmu."),
        E::NoInvitation(_) => "Kamu tidak diundang ke grup ini.".into(),
        E::NotAuthor => "Hanya pengirimnya yang boleh mengubah pesan ini.".into(),
        E::AccountDisabled => "Akun ini dinonaktifkan.".into(),
        E::NotPermitted(_) => "Tidak diizinkan.".into(),
        E::TooManyGroupsCreated { max } => {
            format!("Kamu sudah membuat {max} group. Tidak bisa lebih.")
        }
        E::MailboxFull(user) => format!("Kotak pesan {user} sudah penuh. Tunggu dia membacanya dulu."),
        E::RateLimited { retry_after } => {
            format!("Terlalu banyak permintaan. Coba lagi dalam {} ms.", wait(retry_after))
        }
        E::Busy { retry_after } => {
            format!("Server sedang sibuk. Coba lagi dalam {} ms.", wait(retry_after))
        }
        E::RequestIdConflict => "request_id ini sudah dipakai untuk permintaan lain.".into(),
        E::BadRequest(why) => format!("Permintaan tidak valid: {why}."),
        _ => "Server sedang bermasalah. Coba lagi nanti.".into(),
    }
}

/// The description of a request that could not be decoded, in `lang`.
pub(crate) fn decode_refusal(lang: Language, error: &DecodeError) -> String {
    match (lang, error.code) {
        (Language::En, _) => error.description.clone(),
        (_, "unknown_method") => "Method tidak dikenal.".into(),
        (_, "payload_too_large") => format!("Permintaan terlalu besar. {}", error.description),
        _ => format!("Permintaan tidak valid. {}", error.description),
    }
}

/// The text of a group notice, in `lang`.
pub(crate) fn notice(lang: Language, event: &NoticeEvent, group: &GroupName) -> String {
    match (lang, event) {
        (Language::En, event) => event.describe(group),
        (_, NoticeEvent::Joined { member, .. }) => format!("{member} telah masuk ke dalam grup."),
        (_, NoticeEvent::Left { member }) => format!("{member} telah keluar dari grup."),
        (_, NoticeEvent::Removed { member, .. }) => {
            format!("{member} telah dikeluarkan dari grup.")
        }
        (_, NoticeEvent::AdminChanged { member, .. }) => format!("{member} sekarang admin grup."),
        (_, NoticeEvent::Renamed { .. }) => format!("Nama grup sekarang {group}."),
        (_, NoticeEvent::Closed { .. }) => format!("Grup {group} telah ditutup."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_sentences_are_kept_word_for_word() {
        let id = Language::Id;
        assert_eq!(
            refusal(id, "add_friend", &ChatError::InvalidToken),
            "Token invalid."
        );
        assert_eq!(
            refusal(id, "quit_from_group", &ChatError::InvalidToken),
            "Invalid token."
        );
        assert_eq!(
            refusal(id, "send_client", &ChatError::UnknownUser("x".into())),
            "Destination user not exists."
        );
        assert_eq!(
            refusal(id, "send_client", &ChatError::NotFriends("budi".into())),
            "Kamu bukan teman budi. Jadilah teman dahulu baru ngechat."
        );
        assert_eq!(
            Said::GroupsListed { count: 2 }.text(id),
            "Group berhasil diambil"
        );
        assert_eq!(
            Said::GroupLeft {
                member: "ana".into(),
                group: 3
            }
            .text(id),
            "ana berhasil keluar grup"
        );
    }

    #[test]
    fn both_login_failures_read_the_same() {
        let text = refusal(Language::Id, "login", &ChatError::InvalidCredentials);
        assert_eq!(text, "Username atau password salah.");
        assert!(!text.contains("tidak ada"));
    }
}
