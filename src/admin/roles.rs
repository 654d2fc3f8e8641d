//! Admin roles and what each may do, and an admin's authenticator (TOTP).
//!
//! Imports: the bank's TOTP helper only.

use serde::{Deserialize, Serialize};

use crate::bank::secrets;

/// What an admin may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the admin accounts (invites, roles, disabling, resets), and may do everything else.
    Owner,
    /// Reads flows, history and the audit log.
    Viewer,
    /// A viewer who also edits drafts.
    Editor,
    /// An editor who also publishes and rolls back.
    Publisher,
    /// A viewer who also supports customers (search, PIN unlock, unfreeze) and handles tickets.
    Operator,
    /// Customer care: handles tickets (the queue, the conversation, answers, closing), nothing else.
    Agent,
}

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read flows, releases, drafts and the audit log; try drafts in the preview.
    Read,
    /// Create, edit, rebase and discard drafts.
    EditDrafts,
    /// Publish drafts and roll back.
    Publish,
    /// Look customers up, unlock their PINs and unfreeze their accounts.
    SupportCustomers,
    /// Read, claim, answer and close customer care tickets.
    HandleTickets,
    /// Invite admins, change their roles, disable accounts, reset passwords and authenticators.
    ManageAdmins,
    /// Correct money: resolve transfers in suspense, waive late fees, restructure or write off
    /// loans; approve or reject another admin's correction.
    CorrectMoney,
}

impl Role {
    /// Every role, for messages.
    pub const ALL: [Role; 6] =
        [Role::Owner, Role::Viewer, Role::Editor, Role::Publisher, Role::Operator, Role::Agent];

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Its stored name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Publisher => "publisher",
            Role::Operator => "operator",
            Role::Agent => "agent",
        }
    }

    /// What it may do.
    pub fn capabilities(self) -> &'static [Capability] {
        use Capability::*;
        match self {
            Role::Owner => {
                &[Read, EditDrafts, Publish, SupportCustomers, HandleTickets, ManageAdmins, CorrectMoney]
            }
            Role::Viewer => &[Read],
            Role::Editor => &[Read, EditDrafts],
            Role::Publisher => &[Read, EditDrafts, Publish],
            Role::Operator => &[Read, SupportCustomers, HandleTickets, CorrectMoney],
            Role::Agent => &[HandleTickets],
        }
    }

    /// Whether it may do `capability`.
    pub fn can(self, capability: Capability) -> bool {
        self.capabilities().contains(&capability)
    }
}

/// An admin's TOTP, labelled "<bank> admin" and their email in the enrolment URI.
pub fn totp_for(secret: &str, email: &str, bank: &str) -> anyhow::Result<totp_rs::TOTP> {
    secrets::totp(secret, &format!("{bank} admin"), email)
}
