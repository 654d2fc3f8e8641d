//! `teller admin create --email … --role …`: creates an admin, and prints the TOTP enrolment
//! URI and a QR code for the terminal to scan with an authenticator app.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use qrcodegen::{QrCode, QrCodeEcc};
use serde_json::json;

use super::roles::{Role, totp_for};
use crate::bank::secrets;
use crate::config::{Config, SqlBackend};
use crate::store::{self, NewAuditEvent};

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// What was created, for the caller to print.
#[derive(Debug)]
pub struct Created {
    /// The admin's id.
    pub id: i64,
    /// The `otpauth://` URI to enrol an authenticator app.
    pub uri: String,
    /// The TOTP secret in base32 (for typing in by hand).
    pub secret: String,
    /// The password, when teller generated it (shown once).
    pub generated_password: Option<String>,
}

/// Creates admin `email` with `role`; the password is `password`, or generated when `None`.
pub async fn create(
    config: &Config,
    email: &str,
    role: &str,
    password: Option<String>,
) -> anyhow::Result<Created> {
    let email = email.trim().to_lowercase();
    if !email_looks_valid(&email) {
        bail!("--email: {email:?} is not an email address");
    }
    let Some(role) = Role::parse(role) else {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        bail!("--role: {role:?} is not a role; use one of {}", names.join(", "));
    };
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (hex::encode(secrets::random_bytes::<12>()), true),
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must be at least {MIN_PASSWORD} characters");
    }
    let secret = totp_rs::Secret::Raw(secrets::random_bytes::<20>().to_vec()).to_encoded().to_string();
    let uri = totp_for(&secret, &email, &config.bank.name)?.get_url();
    let hash = crate::hashing::Hasher::default().hash(password.clone()).await?;

    let store = store::connect(&config.database).await.context("cannot open the SQL store")?;
    if store.backend() == SqlBackend::Sqlite {
        store.migrate().await?;
    } else {
        store.schema_status().await?.ensure_current()?;
    }
    let now = chrono::Utc::now();
    let keys = config.secrets_keys()?;
    let mut tx = store.begin().await?;
    // Sealed for the admin's row, so made once the row has its id, in the same unit of work.
    let Some(id) = tx.admin().create_admin(&email, role.name(), &hash, "", now).await? else {
        bail!("an admin with email {email} exists already");
    };
    tx.admin().set_admin_totp(id, &keys.seal(&secret, &crate::sealed::admin_totp(id))).await?;
    let detail = json!({ "after": { "email": email, "role": role.name() } });
    tx.append_audit(&NewAuditEvent::new("system:cli", "admin.created", &format!("admin:{id}"), now, detail))
        .await?;
    tx.commit().await?;
    store.close().await;
    Ok(Created { id, uri, secret, generated_password: generated.then_some(password) })
}

/// Whether `email` looks like an email address (roughly: the link or code proves it).
pub(crate) fn email_looks_valid(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Reads the password from the first line of standard input.
pub fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn encode(text: &str) -> anyhow::Result<QrCode> {
    QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|e| anyhow::anyhow!("cannot draw a QR code: {e:?}"))
}

/// `text` as a QR code: one string a row, `1` for a dark module, without the quiet zone.
pub fn qr_rows(text: &str) -> anyhow::Result<Vec<String>> {
    let qr = encode(text)?;
    Ok((0..qr.size())
        .map(|y| (0..qr.size()).map(|x| if qr.get_module(x, y) { '1' } else { '0' }).collect())
        .collect())
}

/// `text` as a QR code drawn with half blocks, two modules a line, light modules lit (so it
/// scans on a dark terminal as on a light one), with the quiet zone around it.
pub fn terminal_qr(text: &str) -> anyhow::Result<String> {
    let qr = encode(text)?;
    let border = 2;
    let size = qr.size();
    let light = |x: i32, y: i32| !qr.get_module(x, y);
    let mut out = String::new();
    let mut y = -border;
    while y < size + border {
        for x in -border..size + border {
            out.push(match (light(x, y), light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_is_square_with_its_quiet_zone() {
        let qr = terminal_qr("otpauth://totp/teller%20admin:a%40b.c?secret=ABC").unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        let width = lines[0].chars().count();
        assert!(width >= 25, "{width}");
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert_eq!(lines.len(), width.div_ceil(2));
        assert!(lines[0].chars().all(|c| c == '█'), "the quiet zone is light");
    }

    #[test]
    fn emails_are_checked_roughly() {
        assert!(email_looks_valid("ops@bank.example"));
        for bad in ["", "ops", "ops@bank", "@bank.example", "a b@bank.example", "ops@.example"] {
            assert!(!email_looks_valid(bad), "{bad}");
        }
    }
}
