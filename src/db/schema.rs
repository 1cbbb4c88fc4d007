//! The one schema both backends share. Rust names are plural; SQL names follow DESIGN.md.

diesel::table! {
    #[sql_name = "user"]
    users (id) {
        id -> Text,
        email -> Text,
        email_verified -> Bool,
        name -> Text,
        image -> Nullable<Text>,
        is_admin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    #[sql_name = "account"]
    accounts (id) {
        id -> Text,
        user_id -> Text,
        provider_id -> Text,
        account_id -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email -> Nullable<Text>,
        access_token -> Nullable<Text>,
        refresh_token -> Nullable<Text>,
        id_token -> Nullable<Text>,
        token_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    identity_provider (slug) {
        slug -> Text,
        kind -> Text,
        display_name -> Text,
        client_id -> Text,
        client_secret -> Text,
        issuer -> Nullable<Text>,
        authorize_url -> Nullable<Text>,
        token_url -> Nullable<Text>,
        userinfo_url -> Nullable<Text>,
        scopes -> Text,
        claim_mapping -> Text,
        enabled -> Bool,
        link_policy -> Text,
        allowed_domains -> Text,
        hosted_domain -> Nullable<Text>,
        github_orgs -> Text,
        keep_tokens -> Bool,
        managed_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        trust_email -> Nullable<Bool>,
    }
}

diesel::table! {
    #[sql_name = "session"]
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        auth_time -> Timestamp,
        auth_method -> Text,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        first_factor_at -> Timestamp,
        second_factor_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    #[sql_name = "verification"]
    verifications (id) {
        id -> Text,
        identifier -> Text,
        purpose -> Text,
        value_hash -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        attempts -> Integer,
    }
}

diesel::table! {
    backchannel_outbox (id) {
        id -> Text,
        client_id -> Text,
        subject -> Text,
        session_id -> Text,
        jti -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rate_limit (key) {
        key -> Text,
        window_start -> Timestamp,
        count -> Integer,
    }
}

diesel::table! {
    sign_in_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_profile (user_id) {
        user_id -> Text,
        bio -> Nullable<Text>,
        website -> Nullable<Text>,
        timezone -> Nullable<Text>,
        updated_at -> Timestamp,
        username -> Nullable<Text>,
    }
}

diesel::table! {
    user_settings (user_id) {
        user_id -> Text,
        theme -> Text,
        language -> Text,
        notifications -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_event (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        ip_address -> Nullable<Text>,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
        actor -> Nullable<Text>,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_client (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        auth_method -> Text,
        skip_consent -> Bool,
        always_issue_refresh -> Bool,
        backchannel_logout_uri -> Nullable<Text>,
        id_token_alg -> Text,
        managed_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        access_token_alg -> Nullable<Text>,
        require_mfa -> Bool,
        admin_api -> Bool,
        claim_rules -> Text,
    }
}

diesel::table! {
    signing_key (id) {
        id -> Text,
        alg -> Text,
        private_key -> Text,
        public_jwk -> Text,
        not_before -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oauth_grant (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        session_id -> Nullable<Text>,
        scope -> Text,
        auth_time -> Timestamp,
        amr -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorization_code (code_hash) {
        code_hash -> Text,
        grant_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        nonce -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_token (id) {
        id -> Text,
        token_hash -> Text,
        grant_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consent (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    revoked_token (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    #[sql_name = "known_device"]
    known_devices (user_id, device_hash) {
        user_id -> Text,
        device_hash -> Text,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    totp_factor (user_id) {
        user_id -> Text,
        secret_sealed -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_used_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_code (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_merge (merged_id) {
        merged_id -> Text,
        survivor_id -> Text,
        merged_at -> Timestamp,
    }
}

diesel::table! {
    passkey (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webauthn_ceremony (id) {
        id -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    user_group (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    group_member (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> users (user_id));
diesel::joinable!(group_member -> users (user_id));
diesel::joinable!(group_member -> user_group (group_id));
diesel::joinable!(passkey -> users (user_id));
diesel::joinable!(totp_factor -> users (user_id));
diesel::joinable!(recovery_code -> users (user_id));
diesel::joinable!(known_devices -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_profile -> users (user_id));
diesel::joinable!(user_settings -> users (user_id));
diesel::joinable!(oauth_grant -> users (user_id));
diesel::joinable!(oauth_grant -> oauth_client (client_id));
diesel::joinable!(authorization_code -> oauth_grant (grant_id));
diesel::joinable!(refresh_token -> oauth_grant (grant_id));
diesel::joinable!(consent -> oauth_client (client_id));
diesel::joinable!(backchannel_outbox -> oauth_client (client_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    accounts,
    sessions,
    verifications,
    user_profile,
    user_settings,
    audit_event,
    oauth_client,
    signing_key,
    oauth_grant,
    authorization_code,
    refresh_token,
    consent,
    revoked_token,
    identity_provider,
    mail_outbox,
    rate_limit,
    sign_in_throttle,
    known_devices,
    backchannel_outbox,
    totp_factor,
    recovery_code,
    passkey,
    webauthn_ceremony,
    user_merge,
    user_group,
    group_member,
);
