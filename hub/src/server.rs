//! Start-up: open the store, make sure someone can log in, rebuild the router's queues from the
//! store, and serve HTTP until asked to stop.

use crate::api::{self, AppState};
use crate::auth;
use crate::bus::Bus;
use crate::config::Config;
use crate::dispatcher::Dispatcher;
use crate::domain::{AccountId, Capacity, Role};
use crate::store::{self, DynStore, NewAgent};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub async fn open_store(config: &Config) -> anyhow::Result<DynStore> {
    let url = config.database_url();
    // The URL may carry a password: errors and logs name it redacted.
    let store = store::connect(&url)
        .await
        .with_context(|| format!("opening the database {}", crate::ops::redact(&url)))?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// Where a generated admin password is left for the operator, readable by the hub's user only.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// The environment variable that sets the first admin's password (and `admin create`'s).
pub const ADMIN_PASSWORD_ENV: &str = "PLUGBOARD_ADMIN_PASSWORD";

/// Creates an admin. Without a password, a random one is made and written to
/// `data_dir/admin-password` (mode 0600), never to the terminal or the logs, where it would
/// outlive its use in scrollback and journald.
pub async fn create_admin(
    store: &DynStore,
    email: &str,
    name: &str,
    password: Option<String>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let generated = password.is_none();
    let password = password.unwrap_or_else(auth::random_password);
    anyhow::ensure!(
        password.chars().count() >= auth::MIN_PASSWORD_LEN,
        "the password is too short (at least {} characters)",
        auth::MIN_PASSWORD_LEN
    );
    let hash = auth::hash_password_async(password.clone()).await?;
    let agent = NewAgent {
        email: email.trim().to_lowercase(),
        name: name.into(),
        role: Role::Admin,
        locale: "en".into(),
        skills: Default::default(),
        capacity: Capacity::default(),
        password_hash: hash,
    };
    store
        .create_agent(AccountId::DEFAULT, agent)
        .await
        .context("creating the admin")?;
    if generated {
        let file = data_dir.join(ADMIN_PASSWORD_FILE);
        write_private(&file, &format!("{password}\n"))
            .with_context(|| format!("writing the admin's password to {}", file.display()))?;
        println!(
            "admin created: {email}; its password is in {} (readable by this user only: \
             log in, change it, then delete the file)",
            file.display()
        );
    } else {
        println!("admin created: {email}");
    }
    Ok(())
}

/// Writes a file only its owner can read, replacing any earlier one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Not truncated in place: an old file may have been made readable to others.
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let tls = match (&config.http.tls_cert, &config.http.tls_key) {
        (Some(cert), Some(key)) => {
            Some(crate::http::tls(cert, key).context("the HTTPS certificate (http.tls_cert, http.tls_key)")?)
        }
        (None, None) => None,
        _ => anyhow::bail!("HTTPS needs both http.tls_cert and http.tls_key"),
    };
    let metrics = match config.http.metrics_listen {
        Some(listen) => Some(install_metrics(listen).await?),
        None => None,
    };
    let store = open_store(&config).await?;
    if demo {
        crate::demo::seed(&store).await.context("seeding the demo")?;
        println!(
            "demo: log in at /, password {} for every demo user (e.g. bob@plugboard.example)",
            crate::demo::PASSWORD
        );
    } else if store.count_agents(AccountId::DEFAULT).await? == 0 {
        let password = std::env::var(ADMIN_PASSWORD_ENV).ok();
        create_admin(&store, "admin@localhost", "Admin", password, &config.data_dir).await?;
    }
    let phones = crate::telephony::Phones::load(&store)
        .await
        .context("loading agents' phones")?;
    let health = crate::health::Health::default();
    let (bus, dispatcher) = match &config.redis_url {
        Some(url) => {
            let settings = crate::bus::RedisSettings {
                prefix: config.redis_prefix.clone(),
                ..crate::bus::RedisSettings::new(url)
            };
            let bus = Bus::redis(settings.clone())
                .await
                .context("connecting the bus to Redis (redis_url)")?;
            let dispatcher = crate::cluster::start(settings, store.clone(), bus.clone(), health.clone())
                .await
                .context("joining the other nodes through Redis (redis_url)")?;
            (bus, dispatcher)
        }
        None => {
            let bus = Bus::default();
            let dispatcher = Dispatcher::start(store.clone(), bus.clone(), health.clone())
                .await
                .context("rebuilding the queues")?;
            (bus, dispatcher)
        }
    };
    if let Some((handle, listener)) = metrics {
        let gauges = crate::gauges::Gauges::new(dispatcher.clone(), store.clone());
        serve_metrics(handle, listener, gauges)?;
    }
    let intake = crate::intake::Intake {
        store: store.clone(),
        dispatcher: dispatcher.clone(),
        bus: bus.clone(),
        files: crate::intake::Files::new(&config.data_dir),
        default_region: config.default_region.clone(),
        closed_reply: config.email.closed_reply,
        owner_first_ms: i64::from(config.crm.owner_first_secs) * 1000,
    };
    // Kept for as long as the hub serves; dropping it stops the SIP tasks.
    let sip = crate::telephony::start(
        &config,
        phones.clone(),
        store.clone(),
        &bus,
        dispatcher.clone(),
        intake.clone(),
        &health,
    )
    .await?;
    if let Some(sip) = &sip {
        let tls = sip.tls_addr().map(|a| format!(" tls://{a}")).unwrap_or_default();
        println!(
            "plugboard sip on udp://{} tcp://{}{tls}",
            sip.udp_addr(),
            sip.tcp_addr()
        );
    }
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    let sealer = crate::secrets::Sealer::load(config.secret_key.as_deref(), &config.data_dir)
        .context("loading the secret key (secret_key)")?;
    let email = crate::email::Email::new(
        store.clone(),
        intake.clone(),
        sealer.clone(),
        bus.clone(),
        dispatcher.clone(),
        config.email.clone(),
    );
    email.start(&health).await.context("starting the mailboxes")?;
    let messaging = crate::messaging::Messaging::new(
        store.clone(),
        intake.clone(),
        sealer,
        bus.clone(),
        dispatcher.clone(),
        config.messaging.clone(),
    );
    messaging.start(&health);
    let scheduler = crate::crm::Scheduler {
        store: store.clone(),
        bus: bus.clone(),
        escalate_after: std::time::Duration::from_secs(config.crm.escalate_after_secs.into()),
    };
    let running = health.running("crm scheduler");
    tokio::spawn(async move {
        let _running = running;
        scheduler.run().await;
    });
    let stopping = health.clone();
    let state = AppState::new(
        Arc::new(config),
        store,
        bus,
        dispatcher,
        health,
        phones,
        intake,
        email,
        messaging,
    );
    state.spawn_housekeeping();
    tokio::spawn(crate::conversations::index_forever(state.store.clone()));
    // Tests and scripts read this line to find the port when started with port 0.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("plugboard listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, "listening");
    crate::http::serve(listener, api::app(state), tls, async move {
        shutdown().await;
        stopping.stop();
    })
    .await;
    Ok(())
}

/// Records metrics from here on (before the store opens, so start-up is counted too) and binds
/// their listener (`http.metrics_listen`); every gauge starts at zero.
async fn install_metrics(
    listen: SocketAddr,
) -> anyhow::Result<(
    metrics_exporter_prometheus::PrometheusHandle,
    tokio::net::TcpListener,
)> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    crate::gauges::at_start();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for metrics on {listen} (http.metrics_listen)"))?;
    Ok((handle, listener))
}

/// Serves `/metrics` on the listener of its own, the live gauges read at each scrape; prints
/// where, as the main listener does, for tools started on port 0.
fn serve_metrics(
    handle: metrics_exporter_prometheus::PrometheusHandle,
    listener: tokio::net::TcpListener,
    gauges: crate::gauges::Gauges,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let gauges = Arc::new(gauges);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (handle, gauges) = (handle.clone(), gauges.clone());
            async move {
                gauges.refresh().await;
                handle.render()
            }
        }),
    );
    println!("plugboard metrics on http://{addr}/metrics");
    tokio::spawn(async move {
        crate::http::serve(listener, app, None, std::future::pending()).await;
    });
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
