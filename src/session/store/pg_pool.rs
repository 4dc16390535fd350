//! PostgreSQL connection pools, and [`PgPools`]: one pool per database
//! while one application is built, so that the session store and the room
//! source (`ROOMS_QUERY`) on the same URL share their connections.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pg_tls::{self, SslMode};
use crate::secret::Secret;
use crate::session::StoreSettings;

/// Where a pool connects: the URL and libpq's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// The URL (may hold a password), without libpq's TLS parameters.
    pub url: Secret,
    /// Its `sslmode`.
    pub ssl_mode: SslMode,
    /// The PEM of its `sslrootcert`.
    pub root_pem: Option<Vec<u8>>,
}

pub(super) const NEEDS_DATABASE: &str = "SESSION_BACKEND: this backend needs DATABASE_URL";

/// Pools by [`PgTarget`]: asked twice for one target, the same pool.
#[derive(Clone, Default)]
pub struct PgPools {
    pools: Arc<Mutex<Vec<(PgTarget, deadpool_postgres::Pool)>>>,
}

impl std::fmt::Debug for PgPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgPools")
    }
}

thread_local! {
    // The registry [`pool_from_settings`] uses while [`PgPools::scope`] runs.
    static SCOPE: RefCell<Option<PgPools>> = const { RefCell::new(None) };
}

impl PgPools {
    /// The pool for `target` (errors name `var`): the one made before for
    /// it, else a new one that connects on demand within `timeout`.
    pub fn pool(
        &self,
        target: &PgTarget,
        var: &str,
        timeout: Duration,
    ) -> Result<deadpool_postgres::Pool, String> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, pool)) = pools.iter().find(|(t, _)| t == target) {
            return Ok(pool.clone());
        }
        let pool = pool(target, var, timeout)?;
        pools.push((target.clone(), pool.clone()));
        Ok(pool)
    }

    /// Runs `build` with this registry behind [`pool_from_settings`], so
    /// the session backends it builds (their presets take no registry)
    /// share its pools.
    pub fn scope<R>(&self, build: impl FnOnce() -> R) -> R {
        struct Restore(Option<PgPools>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SCOPE.with(|s| *s.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(SCOPE.with(|s| s.replace(Some(self.clone()))));
        build()
    }
}

/// A pool on the store `settings` (a [`StoreSettings::Postgres`]) name,
/// connecting on demand within `timeout`, over TLS as its libpq `sslmode`
/// and `sslrootcert` ask; inside [`PgPools::scope`], that registry's pool.
pub fn pool_from_settings(
    settings: &StoreSettings,
    timeout: Duration,
) -> Result<deadpool_postgres::Pool, String> {
    let StoreSettings::Postgres {
        url,
        ssl_mode,
        root_pem,
        ..
    } = settings
    else {
        return Err(NEEDS_DATABASE.into());
    };
    let target = PgTarget {
        url: url.clone(),
        ssl_mode: *ssl_mode,
        root_pem: root_pem.clone(),
    };
    match SCOPE.with(|s| s.borrow().clone()) {
        Some(pools) => pools.pool(&target, "DATABASE_URL", timeout),
        None => pool(&target, "DATABASE_URL", timeout),
    }
}

/// A pool that connects to `target` on demand.
fn pool(
    target: &PgTarget,
    var: &str,
    timeout: Duration,
) -> Result<deadpool_postgres::Pool, String> {
    let mut pg: deadpool_postgres::tokio_postgres::Config = target
        .url
        .expose()
        .parse()
        .map_err(|e| format!("{var}: {e}"))?;
    pg.connect_timeout(timeout);
    pg.application_name("realtime-token");
    let manager = deadpool_postgres::Manager::from_config(
        pg,
        pg_tls::connector(target.ssl_mode, target.root_pem.as_deref())?,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| format!("{var}: {e}"))
}
