//! `tessera serve`: migrate, load or create the signing key, listen, shut down cleanly.

use std::path::Path;

use tessera_engine::Tessera;

use crate::config::Config;
use crate::database::{migrate, open_database};
use crate::error::{Error, Result};
use crate::key_source::KeySource;

/// The state builder for `config`: settings, keys, store, and the remote key set of
/// `JWK_URL` when one is configured.
pub fn tessera_builder(
    config: &Config,
    keys: tessera_core::KeySet,
    store: std::sync::Arc<dyn tessera_store::Store>,
) -> Result<tessera_engine::TesseraBuilder> {
    let mut builder = Tessera::builder(config.settings.clone(), keys, store);
    if let Some(url) = &config.settings.jwk_url {
        let remote = tessera_engine::remote_jwks::RemoteJwks::new(
            url,
            Some(config.settings.algorithm),
            tessera_engine::remote_jwks::FETCH_TIMEOUT,
        )
        .map_err(|e| Error::Config(format!("JWK_URL: {e}")))?;
        builder = builder.remote_jwks(std::sync::Arc::new(remote));
    }
    Ok(builder)
}

/// The store the server uses: `store` behind a user cache (`USER_CACHE_TTL`).
pub fn with_user_cache(
    config: &Config,
    store: std::sync::Arc<dyn tessera_store::Store>,
) -> std::sync::Arc<dyn tessera_store::Store> {
    match config.server.user_cache_ttl {
        0 => store,
        ttl => std::sync::Arc::new(tessera_store::UserCache::new(
            store,
            std::time::Duration::from_secs(ttl),
        )),
    }
}

/// Runs the server until SIGINT or SIGTERM; with `demo`, the demo app at `/demo/` too.
pub async fn serve(config: Config, data_dir: &Path, bind: &str, demo: bool) -> Result<()> {
    // First, so that what happens from here on is counted.
    let metrics = match config.server.metrics_bind.as_deref() {
        Some(addr) if !addr.is_empty() => Some((addr.to_owned(), crate::prometheus::install()?)),
        _ => None,
    };
    let db = open_database(&config, data_dir).await?;
    for name in migrate(&db).await? {
        tracing::info!(migration = name, "applied migration");
    }
    // Rows holding whole tokens (an older Tessera's, or Django's beside it) lose their
    // signature in the background, in short batches, while the server serves.
    let ledger = db.store();
    tokio::spawn(async move {
        loop {
            match ledger.scrub_tokens_batch(10_000).await {
                Ok(0) => break,
                Ok(n) => {
                    tracing::info!(rows = n, "removed the signature of stored tokens");
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not rewrite stored tokens");
                    break;
                }
            }
        }
    });
    let store = with_user_cache(&config, db.store());
    let (key_source, keys) = KeySource::open(&config, store.clone(), data_dir).await?;
    key_source.record_metrics(&keys).await;
    // Security events (logins, replays, logouts, password changes) go to the audit log
    // the admin page shows, whether or not the page is on.
    let audit = crate::admin::AuditLog::start(store.clone());
    let mut builder = tessera_builder(&config, keys, store)?.security_sink(audit.sink());
    if let KeySource::Database(ring) = &key_source {
        builder = builder.key_ring(ring.clone());
    }
    let tessera = builder.build()?;
    key_source.spawn_file_reload(&config, tessera.clone());
    // Always: besides revoked sessions (ACCESS_TOKEN_REVOCATION) it carries other
    // instances' and processes' user changes to the user cache, and the database key
    // set's changes to the token service.
    let _revocation_sync = tessera
        .start_revocation_sync()
        .await
        .map_err(|e| Error::Config(format!("cannot start the revocation channel: {e}")))?;
    let app = crate::app::build_with(
        tessera,
        crate::reviews::Reviews::new(db),
        &config,
        demo,
        Some(audit.clone()),
        Some(key_source),
    )?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(Error::io(format!("listening on {bind}")))?;
    let addr = listener
        .local_addr()
        .map_err(Error::io("reading the bound address"))?;
    check_cookie_transport(&config, addr)?;
    tracing::info!("Tessera listening on http://{addr}");
    println!("Tessera listening on http://{addr}");
    if let Some((bind, handle)) = metrics {
        let at = crate::prometheus::serve(&bind, handle).await?;
        tracing::info!("metrics on http://{at}/metrics");
        println!("Metrics on http://{at}/metrics");
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(Error::io("serving"))?;
    // Security events still queued for the audit log are written before the process ends.
    audit.flush().await;
    tracing::info!("shut down");
    Ok(())
}

/// `AUTH_COOKIE_SECURE = false` sends session cookies over plain HTTP: acceptable for
/// a developer's own machine only, so only a server listening on loopback may use it.
pub fn check_cookie_transport(config: &Config, addr: std::net::SocketAddr) -> Result<()> {
    let s = &config.settings;
    if s.auth_cookie_mode != tessera_core::CookieMode::Off
        && !s.auth_cookie_secure
        && !addr.ip().is_loopback()
    {
        return Err(Error::Config(format!(
            "AUTH_COOKIE_SECURE = false sends session cookies over plain HTTP: it is for local \
             development, and accepted only when the server listens on loopback (not {addr})"
        )));
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
