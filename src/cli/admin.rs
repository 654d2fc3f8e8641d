//! `teller admin …`: the admin accounts from the command line, for the first owner and for
//! when no owner can sign in. The same rules and audit trail as the console's Admins page
//! (`crate::admin::accounts`), acting as `system:cli`.

use anyhow::Context as _;
use clap::Subcommand;

use crate::admin::accounts::{self, Actor, AdminView, Reset, SetupLink};
use crate::config::{Config, SqlBackend};
use crate::store::{self, SqlStore};

/// `teller admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin; prints the TOTP enrolment URI and a QR code to scan with an
    /// authenticator app. The password is read from standard input with --password-stdin,
    /// else generated and printed once.
    Create {
        /// Their email (the login name).
        #[arg(long)]
        email: String,
        /// owner (runs admin accounts, and everything else), viewer (reads), editor (drafts),
        /// publisher (publishes and rolls back), operator (customer support) or agent (tickets).
        #[arg(long)]
        role: String,
        /// Read the password (at least 12 characters) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every admin with their role and status.
    List,
    /// Invite an admin: prints the setup link (valid 72 hours) where they choose a password and
    /// enrol their authenticator.
    Invite {
        /// Their email (the login name).
        #[arg(long)]
        email: String,
        /// Their role (see `create`).
        #[arg(long)]
        role: String,
    },
    /// Change an admin's role; it applies to their open sessions at once.
    Role {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// The new role.
        #[arg(long)]
        role: String,
    },
    /// Disable an admin: they cannot sign in, and their sessions end at once.
    Disable {
        /// The admin's email.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled admin again.
    Enable {
        /// The admin's email.
        #[arg(long)]
        email: String,
    },
    /// Reset an admin's password or authenticator: the old one stops working, their sessions
    /// end, and the printed setup link sets the new one.
    Reset {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// `password` or `authenticator`.
        #[arg(long)]
        what: String,
    },
}

/// Runs `command`.
pub async fn run(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::Create { email, role, password_stdin } = command {
        return create(config, &email, &role, password_stdin).await;
    }
    let store = open(config).await?;
    let done = on_store(config, store.as_ref(), command).await;
    store.close().await;
    done
}

async fn on_store(config: &Config, store: &dyn SqlStore, command: AdminCommand) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let cli = Actor::cli();
    match command {
        AdminCommand::List => {
            let admins = accounts::list(store).await?;
            println!("{:<5} {:<40} {:<10} {:<9} last login", "id", "email", "role", "status");
            for a in admins {
                let login =
                    a.last_login_at.map_or("never".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
                println!("{:<5} {:<40} {:<10} {:<9} {login}", a.id, a.email, a.role, a.status);
            }
        }
        AdminCommand::Invite { email, role } => {
            let keys = config.secrets_keys()?;
            let (admin, link) = accounts::invite(store, &keys, &cli, &email, &role, now).await?;
            println!("{} invited as {}.", admin.email, admin.role);
            print_link(&link);
        }
        AdminCommand::Role { email, role } => {
            let id = accounts::by_email(store, &email).await?.id;
            let admin = accounts::change_role(store, &cli, id, &role, now).await?;
            println!("{} is now {}.", admin.email, admin.role);
        }
        AdminCommand::Disable { email } => {
            let admin = toggle(store, &email, true).await?;
            println!("{} is disabled; their sessions have ended.", admin.email);
        }
        AdminCommand::Enable { email } => {
            let admin = toggle(store, &email, false).await?;
            println!("{} is enabled ({}).", admin.email, admin.status);
        }
        AdminCommand::Reset { email, what } => {
            let what = Reset::parse(&what).context("--what is password or authenticator")?;
            let keys = config.secrets_keys()?;
            let id = accounts::by_email(store, &email).await?.id;
            let link = accounts::reset(store, &keys, &cli, id, what, now).await?;
            println!("The {} of {} is reset and their sessions have ended.", what.name(), email.trim());
            print_link(&link);
        }
        AdminCommand::Create { .. } => unreachable!("handled before the store is opened"),
    }
    Ok(())
}

async fn toggle(store: &dyn SqlStore, email: &str, disabled: bool) -> anyhow::Result<AdminView> {
    let id = accounts::by_email(store, email).await?.id;
    Ok(accounts::set_disabled(store, &Actor::cli(), id, disabled, chrono::Utc::now()).await?)
}

fn print_link(link: &SetupLink) {
    println!("Send them this link (it works once, until {}):", link.expires_at.format("%Y-%m-%d %H:%M UTC"));
    println!("  <the console's address>{}", link.path);
}

/// The SQL store, migrated (SQLite) or checked current (PostgreSQL, migrated by its job).
pub(super) async fn open(config: &Config) -> anyhow::Result<std::sync::Arc<dyn SqlStore>> {
    let store = store::connect(&config.database).await.context("cannot open the SQL store")?;
    if store.backend() == SqlBackend::Sqlite {
        store.migrate().await?;
    } else {
        store.schema_status().await?.ensure_current()?;
    }
    Ok(store)
}

/// `teller admin create`: the account, then how to enrol its authenticator.
async fn create(config: &Config, email: &str, role: &str, password_stdin: bool) -> anyhow::Result<()> {
    let password = if password_stdin { Some(crate::admin::create::password_from_stdin()?) } else { None };
    let created = crate::admin::create::create(config, email, role, password).await?;
    println!("admin {} created (id {}, role {role})", email.trim().to_lowercase(), created.id);
    if let Some(password) = &created.generated_password {
        println!("password (shown once, keep it safe): {password}");
    }
    println!("\nScan this with an authenticator app, or enter the secret {} by hand:\n", created.secret);
    print!("{}", crate::admin::create::terminal_qr(&created.uri)?);
    println!("\n{}", created.uri);
    Ok(())
}
