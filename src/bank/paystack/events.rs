//! The events Paystack posts to `POST /webhook/paystack`, read leniently: `{event, data}`, the
//! fields teller needs, everything else optional (timestamps come in two spellings,
//! `integration` as a number or an object, `metadata` as anything). Amounts must be whole
//! kobo; anything else is not an event teller acts on.

use serde_json::Value;

use super::rail::{status_of, teller_reference};
use crate::bank::funding::{Account, Funded};
use crate::bank::rail::RailStatus;

/// An event teller acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Money arrived in a customer's dedicated account (`charge.success`, `dedicated_nuban`).
    Funded(Funded),
    /// A payout's outcome (`transfer.success`, `transfer.failed`, `transfer.reversed`), by
    /// teller's transfer reference.
    Transfer {
        /// Teller's reference.
        reference: String,
        /// What became of it.
        status: RailStatus,
    },
    /// A customer's dedicated account was assigned (`dedicatedaccount.assign.success`).
    Assigned {
        /// The provider's customer code.
        customer_code: String,
        /// The account.
        account: Account,
    },
    /// Anything else: acknowledged, not acted on (the event's name, for the log).
    Ignored(String),
}

impl Event {
    /// What it is about, for logs: references and codes, no names or numbers.
    pub fn describe(&self) -> String {
        match self {
            Event::Funded(funded) => {
                format!("charge.success {} for {}", funded.reference, funded.customer_code)
            }
            Event::Transfer { reference, .. } => format!("transfer {reference}"),
            Event::Assigned { customer_code, .. } => {
                format!("dedicatedaccount.assign.success for {customer_code}")
            }
            Event::Ignored(name) => name.clone(),
        }
    }
}

/// Reads a verified body; an error says what is wrong with it, in words.
pub fn parse(body: &[u8]) -> Result<Event, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let name = value["event"].as_str().ok_or("no \"event\"")?.to_owned();
    let data = &value["data"];
    if !data.is_object() {
        return Err(format!("{name}: no \"data\" object"));
    }
    let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    match name.as_str() {
        "charge.success" => {
            let channel = text(&data["channel"]).or_else(|| text(&data["authorization"]["channel"]));
            if channel.as_deref() != Some("dedicated_nuban")
                || text(&data["status"]).as_deref() != Some("success")
            {
                return Ok(Event::Ignored(name));
            }
            let reference = text(&data["reference"]).ok_or("charge.success: no reference")?;
            let amount = data["amount"]
                .as_i64()
                .filter(|a| *a > 0)
                .ok_or("charge.success: the amount is not a positive whole number of kobo")?;
            let currency = text(&data["currency"]).ok_or("charge.success: no currency")?;
            let customer_code = text(&data["customer"]["customer_code"])
                .ok_or("charge.success: no customer.customer_code")?;
            Ok(Event::Funded(Funded {
                reference,
                customer_code,
                account_number: text(&data["authorization"]["receiver_bank_account_number"]),
                amount,
                currency,
                payer: text(&data["authorization"]["sender_name"]).unwrap_or_default(),
            }))
        }
        "transfer.success" | "transfer.failed" | "transfer.reversed" => {
            let reference = text(&data["reference"]).ok_or_else(|| format!("{name}: no reference"))?;
            let status = name.trim_start_matches("transfer.");
            let reason = text(&data["gateway_response"]).or_else(|| text(&data["failures"]));
            Ok(Event::Transfer {
                reference: teller_reference(&reference),
                status: status_of(status, reason.as_deref()),
            })
        }
        "dedicatedaccount.assign.success" => {
            let customer_code = text(&data["customer"]["customer_code"])
                .ok_or("assign.success: no customer.customer_code")?;
            let account =
                account_of(&data["dedicated_account"]).ok_or("assign.success: no account number")?;
            Ok(Event::Assigned { customer_code, account })
        }
        _ => Ok(Event::Ignored(name)),
    }
}

/// A dedicated account object as Paystack returns it (`POST /dedicated_account`, or an
/// assignment event): `None` without an account number.
pub fn account_of(data: &Value) -> Option<Account> {
    let number = data["account_number"].as_str().map(str::trim).filter(|n| !n.is_empty())?;
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Account {
        account_number: number.to_owned(),
        bank_name: data["bank"]["name"].as_str().unwrap_or_default().to_owned(),
        account_name: data["account_name"].as_str().unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/paystack/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_fixtures_read_as_teller_needs_them() {
        let Event::Funded(funded) = parse(&fixture("charge_success_dedicated_nuban.json")).unwrap() else {
            panic!("not a funding")
        };
        assert_eq!(funded.reference, "tlrdva0c4e8a1b9f2d7");
        assert_eq!(funded.customer_code, "CUS_tlr4k8x2q9m0zb7");
        assert_eq!(funded.account_number.as_deref(), Some("9930101234"));
        assert_eq!((funded.amount, funded.currency.as_str()), (500_000, "NGN"));
        assert_eq!(funded.payer, "ADAEZE OKONKWO");

        let Event::Assigned { customer_code, account } =
            parse(&fixture("dedicatedaccount_assign_success.json")).unwrap()
        else {
            panic!("not an assignment")
        };
        assert_eq!(customer_code, "CUS_tlr4k8x2q9m0zb7");
        assert_eq!(
            (account.account_number.as_str(), account.bank_name.as_str()),
            ("9930101234", "Test Bank")
        );

        let transfer = |f| match parse(&fixture(f)).unwrap() {
            Event::Transfer { reference, status } => (reference, status),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            transfer("transfer_success.json"),
            ("TLR_TRF_0B7C9E4A2F6D4C1E8A3B".into(), RailStatus::Success)
        );
        assert!(matches!(transfer("transfer_failed.json").1, RailStatus::Failed(_)));
        assert!(matches!(transfer("transfer_reversed.json").1, RailStatus::Reversed(_)));
    }

    #[test]
    fn bad_bodies_are_errors_in_words_and_other_events_are_ignored() {
        assert!(parse(b"not json").unwrap_err().contains("not JSON"));
        assert!(parse(br#"{"data":{}}"#).unwrap_err().contains("event"));
        let fractional = br#"{"event":"charge.success","data":{"status":"success","channel":"dedicated_nuban","reference":"r1","amount":10.5,"currency":"NGN","customer":{"customer_code":"CUS_1"}}}"#;
        assert!(parse(fractional).unwrap_err().contains("whole number"));
        let negative = String::from_utf8(fractional.to_vec()).unwrap().replace("10.5", "-500");
        assert!(parse(negative.as_bytes()).unwrap_err().contains("positive"));
        let card = br#"{"event":"charge.success","data":{"status":"success","channel":"card","reference":"r1","amount":100,"currency":"NGN"}}"#;
        assert_eq!(parse(card).unwrap(), Event::Ignored("charge.success".into()));
        assert_eq!(
            parse(br#"{"event":"subscription.create","data":{}}"#).unwrap(),
            Event::Ignored("subscription.create".into())
        );
    }
}
