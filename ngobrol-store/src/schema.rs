//! The Diesel schema, written to match both backends' migrations.

diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        reads_mailbox -> Bool,
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
    blocks (username, blocked) {
        username -> Text,
        blocked -> Text,
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
        joined_after -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        user_low -> Nullable<Text>,
        user_high -> Nullable<Text>,
        group_id -> Nullable<BigInt>,
        last_seq -> BigInt,
        last_position -> BigInt,
    }
}

diesel::table! {
    messages (position) {
        position -> BigInt,
        conversation_id -> BigInt,
        seq -> BigInt,
        message_id -> Text,
        sent_at -> BigInt,
        kind -> Text,
        sender -> Text,
        recipient -> Nullable<Text>,
        group_id -> Nullable<BigInt>,
        group_name -> Nullable<Text>,
        body -> Nullable<Binary>,
        actor -> Nullable<Text>,
        amended_at -> Nullable<BigInt>,
        deleted -> Bool,
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
diesel::table! {
    markers (username, conversation_id) {
        username -> Text,
        conversation_id -> BigInt,
        delivered_seq -> BigInt,
        read_seq -> BigInt,
    }
}

diesel::table! {
    friend_requests (from_user, to_user) {
        from_user -> Text,
        to_user -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    invitations (group_id, username) {
        group_id -> BigInt,
        username -> Text,
        invited_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    presence (token_hash) {
        token_hash -> Text,
        state -> Text,
        reported_at -> BigInt,
    }
}

diesel::table! {
    activity_hidden (username) {
        username -> Text,
    }
}

diesel::table! {
    disabled_users (username) {
        username -> Text,
        disabled_at -> BigInt,
    }
}

diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(markers -> conversations (conversation_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    friendships,
    chat_groups,
    memberships,
    conversations,
    messages,
    markers,
    friend_requests,
    invitations,
    presence,
    activity_hidden,
    disabled_users
);
