//! `SESSION_BACKEND=rails`: Rails' encrypted cookie store (`cookie.rs`) and,
//! with `DATABASE_URL` set, Devise's sign-in checked against the users table
//! as Warden checks it (`devise.rs`), so a password change ends sessions here
//! as it does in the app.

mod cookie;
mod devise;

use std::sync::Arc;

use actix_web::HttpRequest;

pub use cookie::{KeyDigest, RailsCookie, KEY_DIGEST_VAR};
pub use devise::{DeviseSettings, UserRows, WardenKey, ID_COLUMN_VAR, PASSWORD_COLUMN_VAR};

use super::ClaimsCodec;
use crate::env_var::EnvVar;
use crate::metrics::CacheMetrics;
use crate::session::mapping::SessionReader;
use crate::session::Reason;
use crate::session::{
    AuthFuture, FormatSettings, ReadyFuture, SessionAuthenticator, SessionConfig, SettingError,
    StoreSettings,
};
use crate::token::unix_now;

/// The `rails` preset's own variables.
pub const OPTIONS: &[EnvVar] = &[
    EnvVar::plain(
        KEY_DIGEST_VAR,
        "The digest of Rails' key generator: `sha256` (`load_defaults 7.0` and later) or `sha1` \
         (Rails 6.1 and earlier).",
    )
    .defaults_to("`sha256`"),
    EnvVar::plain(
        ID_COLUMN_VAR,
        "With `DATABASE_URL`: the primary key column of Devise's users table (`SESSION_PG_TABLE`).",
    )
    .defaults_to("`id`"),
    EnvVar::plain(
        PASSWORD_COLUMN_VAR,
        "With `DATABASE_URL`: the column Devise keeps the password hash in; a session whose \
         salt no longer matches it (a password change) is refused.",
    )
    .defaults_to("`encrypted_password`"),
];

/// The `rails` preset's [`Warnings`](crate::session::preset::Warnings):
/// what goes unchecked for a Devise app without `DATABASE_URL`.
pub fn warnings(config: &SessionConfig) -> Vec<String> {
    let devise = config.format.get::<RailsSettings>().map(|s| &s.devise);
    match (devise, &config.store) {
        (Some(Some(_)), StoreSettings::None) => vec![
            "DATABASE_URL is not set, so Devise sessions are not checked against the users \
             table: a copied session cookie keeps getting tokens after its user changes their \
             password (or is deleted), until the cookie expires; set DATABASE_URL to the app's \
             database"
                .into(),
        ],
        _ => Vec::new(),
    }
}

/// The `rails` preset's settings.
struct RailsSettings {
    /// `SESSION_RAILS_KEY_DIGEST`.
    digest: KeyDigest,
    /// Where Devise's users are, when the session names a Devise sign-in.
    devise: Option<DeviseSettings>,
}

/// The `rails` preset's [`Check`](crate::session::preset::Check).
pub fn check(config: &SessionConfig) -> Result<FormatSettings, SettingError> {
    Ok(FormatSettings::new(RailsSettings {
        digest: KeyDigest::parse(config.option(KEY_DIGEST_VAR))?,
        devise: DeviseSettings::parse(config)?,
    }))
}

/// The `rails` preset's [`Build`](crate::session::preset::Build).
pub fn build(
    config: &SessionConfig,
    _cache: CacheMetrics,
) -> Result<Arc<dyn SessionAuthenticator>, String> {
    let settings: &RailsSettings = config.settings()?;
    let codec = RailsCookie::new(
        &config.cookie_name,
        settings.digest,
        config.secrets.iter().map(|s| s.expose()),
    );
    let devise = match (&settings.devise, &config.store) {
        (Some(devise), StoreSettings::Postgres { .. }) => Some((
            UserRows::new(&config.store, devise, config.lookup_timeout)?,
            devise.session_key.clone(),
        )),
        _ => None,
    };
    Ok(Arc::new(RailsAuthenticator {
        codec,
        reader: SessionReader::new(config),
        devise,
    }))
}

/// Opens the Rails cookie, checks a Devise sign-in against its user's row
/// when there is a users table, and maps the session to a principal by
/// `SESSION_SUBJECT_POINTER` / `SESSION_ATTRIBUTES`.
pub struct RailsAuthenticator {
    codec: RailsCookie,
    reader: SessionReader,
    /// The users table and the Warden session key the subject comes from.
    devise: Option<(UserRows, String)>,
}

impl SessionAuthenticator for RailsAuthenticator {
    fn authenticate<'a>(&'a self, req: &'a HttpRequest) -> AuthFuture<'a> {
        let doc = self.codec.decode(req.headers(), unix_now());
        Box::pin(async move {
            let doc = doc?;
            if let Some((rows, session_key)) = &self.devise {
                rows.check(&WardenKey::find(&doc, session_key)?).await?;
            }
            self.reader.principal(&doc).map_err(|why| {
                crate::session::SessionError::Unauthenticated(Reason::NoSubject, why)
            })
        })
    }

    /// Without Devise's users check the cookie alone decides; with it, the
    /// client's bucket goes first, so valid cookies cannot make the users
    /// table answer without limit.
    fn verifies_locally(&self) -> bool {
        self.devise.is_none()
    }

    fn ready(&self) -> ReadyFuture<'_> {
        Box::pin(async move {
            match &self.devise {
                Some((rows, _)) => rows.ping().await,
                None => Ok(()),
            }
        })
    }
}
