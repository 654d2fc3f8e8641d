//! The seam between dispatch and conversation: a handler turns one inbound message into replies.

use async_trait::async_trait;

pub use crate::store::Standing;
use crate::whatsapp::notification::InboundMessage;
use crate::whatsapp::outbound::Outbound;

/// Turns one inbound message into the replies to queue: typed messages, so a reply that breaks
/// one of Meta's limits fails where it is built, not at Meta. It must not write anything itself: its replies are queued in the same
/// transaction that marks the message handled, which is what makes handling exactly-once.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// The replies to `message`, from a sender whose `standing` the claim read (`None`: the
    /// handler reads it itself); an error leaves it to be retried.
    async fn handle(&self, message: &InboundMessage, standing: Option<&Standing>) -> anyhow::Result<Handled>;
}

/// What handling a message came to.
#[derive(Debug, Default)]
pub struct Handled {
    /// The replies, in order.
    pub replies: Vec<Outbound>,
    /// The message carried a secret (the answer to a PIN, code or identity-number question, or
    /// the customer's PIN typed at another moment): the dispatcher removes its text from the
    /// inbox (and its raw webhook body) in the transaction that marks it handled, so a secret
    /// is never kept at rest.
    pub secret: bool,
    /// The question the customer's session asks once these replies are read (the flow run,
    /// flow and step), kept with each reply: a later tap on one of them answers this question
    /// or is refused. `None` when nothing is asked.
    pub question: Option<String>,
}

impl From<Vec<Outbound>> for Handled {
    fn from(replies: Vec<Outbound>) -> Handled {
        Handled { replies, ..Handled::default() }
    }
}
