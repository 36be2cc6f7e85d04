//! `create-join-token`: signs a join token with a configured key and prints
//! it the way livekit-server does (`Token: <jwt>`), or alone with `--raw`.

use std::collections::BTreeMap;

use super::args::TokenArgs;
use crate::auth::{mint, Claims, VideoGrant};
use crate::config::Config;

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenCmdError {
    #[error("keys are not configured")]
    NoKeys,
    #[error("api key {0:?} is not configured")]
    UnknownKey(String),
    #[error("invalid --attribute {0:?}: expected KEY=VALUE")]
    BadAttribute(String),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

/// The claims `args` ask for (without iss/exp/nbf, which minting sets).
pub fn claims_from_args(args: &TokenArgs) -> Result<Claims, TokenCmdError> {
    let mut grant = VideoGrant {
        room_join: args.room_join.unwrap_or(true),
        room: args.room.clone(),
        can_publish: args.can_publish,
        can_subscribe: args.can_subscribe,
        can_publish_data: args.can_publish_data,
        can_update_own_metadata: args.can_update_own_metadata,
        can_subscribe_metrics: args.can_subscribe_metrics,
        can_publish_sources: args.can_publish_sources.clone(),
        hidden: args.hidden.unwrap_or(false),
        agent: args.agent.unwrap_or(false),
        room_admin: args.room_admin.unwrap_or(false),
        room_create: args.room_create.unwrap_or(false),
        room_list: args.room_list.unwrap_or(false),
        room_record: args.room_record.unwrap_or(false),
        ..Default::default()
    };
    if args.recorder {
        grant.hidden = true;
        grant.recorder = true;
        grant.can_publish = Some(false);
        grant.can_publish_data = Some(false);
    }
    let mut attributes = BTreeMap::new();
    for a in &args.attributes {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| TokenCmdError::BadAttribute(a.clone()))?;
        attributes.insert(k.to_string(), v.to_string());
    }
    Ok(Claims {
        sub: args.identity.clone(),
        name: args.name.clone().unwrap_or_default(),
        metadata: args.metadata.clone().unwrap_or_default(),
        kind: args.kind.clone().unwrap_or_default(),
        attributes,
        video: Some(grant),
        ..Default::default()
    })
}

/// Mints the token with `--api-key` or the first configured key.
pub fn create_token(config: &Config, args: &TokenArgs) -> Result<String, TokenCmdError> {
    let (key, secret) = match &args.api_key {
        Some(k) => {
            let s = config
                .keys
                .get(k)
                .ok_or_else(|| TokenCmdError::UnknownKey(k.clone()))?;
            (k.clone(), s.clone())
        }
        None => {
            let (k, s) = config.keys.iter().next().ok_or(TokenCmdError::NoKeys)?;
            (k.clone(), s.clone())
        }
    };
    let claims = claims_from_args(args)?;
    Ok(mint(&key, &secret, &claims, args.valid_for)?)
}

/// The printed line: livekit-server's `Token: <jwt>`, or the bare JWT.
pub fn format_token(token: &str, raw: bool) -> String {
    if raw {
        format!("{token}\n")
    } else {
        format!("Token: {token}\n")
    }
}
