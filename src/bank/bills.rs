//! Airtime and data bought from the wallet for a phone line: the customer's own or another.
//! A purchase is a payment that leaves the bank like a transfer to another bank: quoted with
//! the rules' fee bands and amount range, authorised by the PIN (and a code by the same rules),
//! held, handed to the biller, then posted (wallet → the biller's account, fee to fee income)
//! or released on its answer, once per idempotency key. A biller that does not answer leaves
//! the funds held for the stuck-transfer job, which asks it again by reference.

use std::sync::Arc;

use super::biller::{BillKind, Biller, DataPlan, Network, Purchase};
use super::ledger::{TxKind, kind};
use super::rail::RailStatus;
use super::rules::fee;
use super::transfers::{Asked, Held};
use super::{Bank, Quote, QuoteRefusal, Refusal, Transfer};

/// A purchase the customer confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillOrder {
    /// Airtime, or a data plan.
    pub kind: BillKind,
    /// The line's network.
    pub network: Network,
    /// The line, international digits.
    pub phone: String,
    /// Minor units (a plan's price for data).
    pub amount: i64,
    /// The plan, for data.
    pub plan: Option<DataPlan>,
}

impl BillOrder {
    /// The ledger's counterparty: `<network>:<phone>`.
    pub fn counterparty(&self) -> String {
        counterparty(self.network, &self.phone)
    }

    /// As statements and notices name it: "MTN airtime", "Glo data 1GB, 7 days".
    pub fn description(&self) -> String {
        match &self.plan {
            Some(plan) => format!("{} data {}", self.network.name(), plan.name),
            None => format!("{} airtime", self.network.name()),
        }
    }
}

/// The ledger's counterparty for a line.
pub fn counterparty(network: Network, phone: &str) -> String {
    format!("{}:{phone}", network.id())
}

/// Why a purchase cannot be quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillQuoteRefusal {
    /// Below the rules' smallest purchase.
    TooSmall {
        /// The smallest.
        min: i64,
    },
    /// Above the rules' largest purchase.
    TooLarge {
        /// The largest.
        max: i64,
    },
    /// As for a transfer.
    Transfer(QuoteRefusal),
}

impl Bank {
    /// The bank, buying airtime and data from `biller`.
    pub fn with_biller(mut self, biller: Arc<dyn Biller>) -> Bank {
        self.biller = biller;
        self
    }

    /// The customer's own line (international digits).
    pub async fn own_line(&self, key: &str) -> anyhow::Result<Result<String, Refusal>> {
        match self.customer(key).await? {
            Some(customer) if !customer.phone.is_empty() => Ok(Ok(customer.phone)),
            Some(_) => Ok(Err(Refusal::UnknownRecipient)),
            None => Ok(Err(Refusal::NotRegistered)),
        }
    }

    /// The data plans on `network`, as the biller sells them, cheapest first.
    pub async fn data_plans(&self, network: Network) -> anyhow::Result<Vec<DataPlan>> {
        let mut plans = self.biller.plans(network).await?;
        plans.sort_by_key(|p| p.amount);
        Ok(plans)
    }

    /// What buying `amount` for the line `counterparty` would cost, checked against the
    /// rules' range, the balance and the limits now (the purchase checks again).
    pub async fn quote_bill(
        &self,
        key: &str,
        amount: i64,
        counterparty: &str,
    ) -> anyhow::Result<Result<Quote, BillQuoteRefusal>> {
        let rules = &self.rules.bills;
        if amount < rules.min {
            return Ok(Err(BillQuoteRefusal::TooSmall { min: rules.min }));
        }
        if amount > rules.max {
            return Ok(Err(BillQuoteRefusal::TooLarge { max: rules.max }));
        }
        Ok(self
            .quote_under(key, amount, counterparty, &rules.fees)
            .await?
            .map_err(BillQuoteRefusal::Transfer))
    }

    /// Buys `order` for the customer behind `key`, once per `idempotency_key`, with the PIN
    /// (and code, if needed) verified just before.
    pub async fn buy(
        self: &Arc<Self>,
        key: &str,
        order: &BillOrder,
        idempotency_key: &str,
    ) -> anyhow::Result<Transfer> {
        if let Some(done) = self.repeat(idempotency_key).await? {
            return Ok(done);
        }
        let rules = &self.rules.bills;
        if order.amount < rules.min || order.amount > rules.max {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let counterparty = order.counterparty();
        let (sender, wallet) = match self.authorise(key, order.amount, &counterparty).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Transfer::Refused(refusal)),
        };
        if order.amount > self.tier_of(&sender).per_transaction {
            return Ok(Transfer::Refused(Refusal::OverLimit));
        }
        let fee = fee(&rules.fees, order.amount);
        let description = order.description();
        let plan = order.plan.as_ref().map(|p| p.code.clone());
        let held = Held {
            kind: TxKind::BillPayment,
            prefix: "B",
            to: kind::BILLER,
            amount: order.amount,
            fee,
            counterparty: &counterparty,
            counterparty_name: &description,
            narration: plan.as_deref().unwrap_or(""),
            idempotency_key,
        };
        let reference = match self.hold(&sender, &wallet, &held).await? {
            Ok(reference) => reference,
            Err(done) => return Ok(done),
        };
        let purchase = Purchase {
            reference: reference.clone(),
            kind: order.kind,
            network: order.network.id().to_owned(),
            phone: order.phone.clone(),
            amount: order.amount,
            currency: self.settings.currency.clone(),
            plan,
        };
        let status = match self.biller.buy(&purchase).await {
            Ok(status) => status,
            Err(err) => {
                tracing::warn!(error = %err, %reference, "the biller did not answer; the purchase stays pending");
                RailStatus::Pending
            }
        };
        if status == RailStatus::Pending {
            self.follow_up(Asked::Biller(reference.clone()));
            return Ok(Transfer::Pending { reference, fee });
        }
        self.settle_at_once(&reference, &status).await?;
        Ok(self.repeat(idempotency_key).await?.unwrap_or(Transfer::Pending { reference, fee }))
    }

    /// What became of pending purchase `reference`, as the biller says now.
    pub(super) async fn bill_status(&self, reference: &str) -> anyhow::Result<RailStatus> {
        self.biller.status(reference).await
    }
}
