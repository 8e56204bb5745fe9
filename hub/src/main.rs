//! The `plugboard` command: `serve` runs the hub; `admin create` adds an administrator; `migrate`,
//! `backup` and `copy` are the operator's (hub/src/ops).

use clap::{Parser, Subcommand};
use plugboard_hub::config::Config;
use plugboard_hub::{ops, server};
use std::io::Write;
use std::path::PathBuf;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "The contact-center hub: phone, email, chat and messaging in one"
)]
struct Cli {
    /// A TOML config file; PLUGBOARD_* environment variables override it.
    #[arg(long, global = true, env = "PLUGBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// Where the embedded SQLite database lives (overrides the config file).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve {
        /// Seed a demo contact center (queues, agents, customers) and the widget page at /demo.
        #[arg(long)]
        demo: bool,
        /// The HTTP address, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Apply the database migrations this version needs, then exit (`serve` does it too).
    Migrate,
    /// Reports' per-15-minute cells.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// Copy the SQLite database to FILE, consistently, while the hub may be running.
    Backup {
        /// The new file; an existing one is never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy a whole site into a new database, e.g. from SQLite into PostgreSQL; stop the hub first.
    Copy {
        /// The database to read (sqlite://... or postgres://...); the configured one when omitted.
        #[arg(long)]
        from: Option<String>,
        /// The database to fill: migrated here, and refused unless it is empty.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum ReportsCommand {
    /// Count every report cell again from the interaction and presence logs; the hub may be
    /// running (reports count what is new on their own: this is for after a restore or a fix).
    Rebuild,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator. The password comes from --password-file, --password-stdin or
    /// PLUGBOARD_ADMIN_PASSWORD (never the command line, which every user can read in `ps`);
    /// with none, a random one is written to DATA_DIR/admin-password, readable by you only.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        name: String,
        /// Read the password from the first line of this file.
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The password `admin create` was given, if any, from a file, stdin or the environment.
fn admin_password(file: Option<PathBuf>, stdin: bool) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    let line = |text: String| text.lines().next().unwrap_or_default().to_string();
    if let Some(file) = file {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the password from {}", file.display()))?;
        return Ok(Some(line(text)));
    }
    if stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_line(&mut text)
            .context("reading the password from standard input")?;
        return Ok(Some(line(text)));
    }
    Ok(std::env::var(server::ADMIN_PASSWORD_ENV).ok())
}

/// Password hashing allocates 19 MiB a time; glibc's adaptive mmap threshold would keep each of
/// those in a per-thread arena for good (20 concurrent logins measured at 414 MiB of RSS). A fixed
/// threshold sends every large buffer straight back to the system when freed.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning and is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

fn main() -> anyhow::Result<()> {
    return_large_allocations();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        Command::Serve { demo, listen } => {
            if let Some(listen) = listen {
                config.http.listen = listen;
            }
            server::serve(config, demo).await?;
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    password_file,
                    password_stdin,
                },
        } => {
            let password = admin_password(password_file, password_stdin)?;
            let store = server::open_store(&config).await?;
            server::create_admin(&store, &email, &name, password, &config.data_dir).await?;
        }
        Command::Migrate => {
            let done = ops::migrate(&config).await?;
            if done.applied.is_empty() {
                println!(
                    "{} is up to date: migrations {}",
                    done.url,
                    ops::describe(&done.now)
                );
            } else {
                println!(
                    "{}: applied migrations {}",
                    done.url,
                    ops::describe(&done.applied)
                );
            }
        }
        Command::Reports {
            command: ReportsCommand::Rebuild,
        } => {
            let started = std::time::Instant::now();
            let cells = ops::rebuild_reports(&config).await?;
            println!(
                "counted {cells} report cells from the logs of {} in {:.1} s",
                ops::redact(&config.database_url()),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Backup { to } => {
            let started = std::time::Instant::now();
            let done = ops::backup::backup(&config, &to).await?;
            let rows: i64 = done.tables.iter().map(|(_, n)| n).sum();
            println!(
                "backed up {} to {} ({} bytes, {} tables, {rows} rows, integrity ok) in {:.1} s",
                ops::redact(&config.database_url()),
                done.file.display(),
                done.bytes,
                done.tables.len(),
                started.elapsed().as_secs_f64()
            );
            for (table, n) in &done.tables {
                println!("  {table:<20} {n:>10}");
            }
            if done.recordings > 0 {
                println!(
                    "not in the file: {} call recordings under {}; copy them too (they never change)",
                    done.recordings,
                    config.data_dir.join("recordings").display()
                );
            }
        }
        Command::Copy { from, to } => {
            let from = from.unwrap_or_else(|| config.database_url());
            let started = std::time::Instant::now();
            let done = ops::copy::copy(&from, &to).await?;
            let rows: u64 = done.tables.iter().map(|(_, n)| n).sum();
            println!(
                "copied {} to {} (migrations {}): {rows} rows in {:.1} s",
                done.from,
                done.to,
                done.migrations,
                started.elapsed().as_secs_f64()
            );
            for (table, n) in &done.tables {
                println!("  {table:<20} {n:>10}");
            }
            for (counter, at) in &done.counters {
                println!("  next {counter} after {at}");
            }
        }
    }
    std::io::stdout().flush()?;
    Ok(())
}
