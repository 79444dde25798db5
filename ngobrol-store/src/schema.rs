//! The Diesel schema, written to match both backends' migrations.

diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        username -> Text,
        device -> Nullable<Text>,
        issued_at -> BigInt,
        expires_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    friendships (username, friend) {
        username -> Text,
        friend -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    chat_groups (id) {
        id -> BigInt,
        name -> Text,
        admin -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    memberships (group_id, username) {
        group_id -> BigInt,
        username -> Text,
    }
}

diesel::table! {
    request_log (username, request_id) {
        username -> Text,
        request_id -> Text,
        reply -> Binary,
        created_at -> BigInt,
    }
}

diesel::joinable!(memberships -> chat_groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    friendships,
    chat_groups,
    memberships
);
