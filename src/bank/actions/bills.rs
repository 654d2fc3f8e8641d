//! Airtime and data: the line (the customer's own, or a number they give, its network found
//! from the prefix and confirmable), the data plans the biller sells, the quote, and the
//! purchase.

use std::sync::Arc;

use super::BankAction;
use super::declare::{Minor, Results, inputs, refused, results};
use crate::bank::biller::{BillKind, DataPlan, Network};
use crate::bank::bills::{BillOrder, BillQuoteRefusal};
use crate::bank::{Bank, QuoteRefusal, Transfer};
use crate::flows::actions::{ActionCall, ActionOutcome, ActionSpec, MoneyInput};
use crate::money::format_money;

/// The actions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillAction {
    /// `own_line`.
    OwnLine,
    /// `find_line`.
    FindLine,
    /// `line_on`.
    LineOn,
    /// `data_plans`.
    DataPlans,
    /// `choose_plan`.
    ChoosePlan,
    /// `quote_bill`.
    QuoteBill,
    /// `buy_airtime`.
    BuyAirtime,
    /// `buy_data`.
    BuyData,
}

impl BillAction {
    /// Every one.
    pub const ALL: [BillAction; 8] = [
        BillAction::OwnLine,
        BillAction::FindLine,
        BillAction::LineOn,
        BillAction::DataPlans,
        BillAction::ChoosePlan,
        BillAction::QuoteBill,
        BillAction::BuyAirtime,
        BillAction::BuyData,
    ];

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        match self {
            BillAction::OwnLine => &OWN_LINE,
            BillAction::FindLine => &FIND_LINE,
            BillAction::LineOn => &LINE_ON,
            BillAction::DataPlans => &DATA_PLANS,
            BillAction::ChoosePlan => &CHOOSE_PLAN,
            BillAction::QuoteBill => &QUOTE_BILL,
            BillAction::BuyAirtime => &BUY_AIRTIME,
            BillAction::BuyData => &BUY_DATA,
        }
    }

    /// Runs it for `call`.
    pub(super) async fn run(self, action: &BankAction, call: &ActionCall) -> anyhow::Result<ActionOutcome> {
        let bank = &action.bank;
        Ok(match self {
            BillAction::OwnLine => own_line(bank, call).await?.outcome(),
            BillAction::FindLine => line(&FindLineIn::read(call)?.phone, None).outcome(),
            BillAction::LineOn => {
                let i = LineOnIn::read(call)?;
                line(&i.phone, Some(&i.network)).outcome()
            }
            BillAction::DataPlans => data_plans(bank, DataPlansIn::read(call)?).await?.outcome(),
            BillAction::ChoosePlan => choose_plan(bank, ChoosePlanIn::read(call)?).await?.outcome(),
            BillAction::QuoteBill => quote_bill(bank, call, QuoteBillIn::read(call)?).await?.outcome(),
            BillAction::BuyAirtime => buy_airtime(bank, call, BuyAirtimeIn::read(call)?).await?.outcome(),
            BillAction::BuyData => buy_data(bank, call, BuyDataIn::read(call)?).await?.outcome(),
        })
    }
}

results!(
    /// A line and its network.
    Line {
        Ok = "ok" { phone, network, network_name },
        UnknownNetwork = "unknown_network" { phone },
        NotNigerian = "not_nigerian",
        NotRegistered = "not_registered",
    }
);

/// The line `phone` (international digits), on `network` when the customer named it, else on
/// the network its prefix was issued to.
fn line(phone: &str, network: Option<&str>) -> Line {
    if !phone.starts_with("234") || phone.len() != 13 {
        return Line::NotNigerian;
    }
    match network.and_then(Network::parse).or_else(|| Network::of_number(phone)) {
        Some(network) => Line::Ok {
            phone: phone.to_owned(),
            network: network.id().to_owned(),
            network_name: network.name().to_owned(),
        },
        None => Line::UnknownNetwork { phone: phone.to_owned() },
    }
}

async fn own_line(bank: &Bank, call: &ActionCall) -> anyhow::Result<Line> {
    match bank.own_line(&call.customer).await? {
        Ok(phone) => Ok(line(&phone, None)),
        Err(crate::bank::Refusal::NotRegistered) => Ok(Line::NotRegistered),
        Err(_) => Ok(Line::NotNigerian),
    }
}

const OWN_LINE: ActionSpec = ActionSpec {
    name: "own_line",
    description: "The customer's own WhatsApp number as a line, and its network from the prefix.",
    inputs: &[],
    results: Line::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A line by number.
    FindLineIn { phone: String }
);

const FIND_LINE: ActionSpec = ActionSpec {
    name: "find_line",
    description: "The line `phone` and its network from the prefix (numbers move between networks: confirm it).",
    inputs: FindLineIn::NAMES,
    results: Line::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

inputs!(
    /// A line on the network the customer named.
    LineOnIn { phone: String, network: String }
);

const LINE_ON: ActionSpec = ActionSpec {
    name: "line_on",
    description: "The line `phone` on `network` (mtn, airtel, glo, nine_mobile), as the customer says.",
    inputs: LineOnIn::NAMES,
    results: Line::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// The plans on a network.
    Plans { Ok = "ok" { lines, count }, Unavailable = "unavailable" }
);

inputs!(
    /// The plans on a network.
    DataPlansIn { network: String }
);

async fn plans_on(bank: &Bank, network: &str) -> anyhow::Result<Option<Vec<DataPlan>>> {
    let Some(network) = Network::parse(network) else { return Ok(None) };
    match bank.data_plans(network).await {
        Ok(plans) if !plans.is_empty() => Ok(Some(plans)),
        Ok(_) => Ok(None),
        Err(err) => {
            tracing::warn!(error = format!("{err:#}"), "the biller's data plans cannot be read");
            Ok(None)
        }
    }
}

async fn data_plans(bank: &Bank, i: DataPlansIn) -> anyhow::Result<Plans> {
    let Some(plans) = plans_on(bank, &i.network).await? else { return Ok(Plans::Unavailable) };
    let lines: Vec<String> = plans
        .iter()
        .enumerate()
        .map(|(n, p)| format!("{}. {}: {}", n + 1, p.name, format_money(p.amount, bank.currency())))
        .collect();
    Ok(Plans::Ok { count: lines.len().to_string(), lines: lines.join("\n") })
}

const DATA_PLANS: ActionSpec = ActionSpec {
    name: "data_plans",
    description: "The data plans the biller sells on `network`, numbered, one per line with its price.",
    inputs: DataPlansIn::NAMES,
    results: Plans::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// A plan the customer chose.
    Chosen { Ok = "ok" { code, name, amount }, Unknown = "unknown", Unavailable = "unavailable" }
);

inputs!(
    /// A plan, by its number in the list or its name ("1GB", "2gb 30 days").
    ChoosePlanIn { network: String, choice: String }
);

/// The one plan `choice` names: its number, or words every one of which its name has.
pub fn pick<'p>(plans: &'p [DataPlan], choice: &str) -> Option<&'p DataPlan> {
    let choice = choice.trim().trim_end_matches('.').to_lowercase();
    if let Ok(n) = choice.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| plans.get(i));
    }
    let squash = |s: &str| s.to_lowercase().replace([',', ' '], "");
    let words: Vec<String> = choice.split([' ', ',']).filter(|w| !w.is_empty()).map(squash).collect();
    if words.is_empty() {
        return None;
    }
    let name_has = |p: &DataPlan| {
        let name = squash(&p.name.replace("days", "d").replace("day", "d"));
        words.iter().all(|w| name.contains(&w.replace("days", "d").replace("day", "d")))
    };
    let mut found = plans.iter().filter(|p| name_has(p));
    match (found.next(), found.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

async fn choose_plan(bank: &Bank, i: ChoosePlanIn) -> anyhow::Result<Chosen> {
    let Some(plans) = plans_on(bank, &i.network).await? else { return Ok(Chosen::Unavailable) };
    Ok(match pick(&plans, &i.choice) {
        Some(plan) => {
            Chosen::Ok { code: plan.code.clone(), name: plan.name.clone(), amount: plan.amount.to_string() }
        }
        None => Chosen::Unknown,
    })
}

const CHOOSE_PLAN: ActionSpec = ActionSpec {
    name: "choose_plan",
    description: "The data plan `choice` names on `network`: its number in the list, or its name.",
    inputs: ChoosePlanIn::NAMES,
    results: Chosen::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// A purchase's quote.
    BillQuote {
        Ok = "ok" { fee, total, step_up },
        TooSmall = "too_small" { minimum },
        TooLarge = "too_large" { maximum },
        InsufficientFunds = "insufficient_funds" { available },
        OverLimit = "over_limit" { limit },
        DailyLimit = "daily_limit" { left },
        Locked = "locked" { until, operator },
        NotRegistered = "not_registered",
    }
);

inputs!(
    /// A purchase of `amount` for the line `to` (`<network>:<phone>`).
    QuoteBillIn { amount: Minor, to: String }
);

async fn quote_bill(bank: &Bank, call: &ActionCall, i: QuoteBillIn) -> anyhow::Result<BillQuote> {
    Ok(match bank.quote_bill(&call.customer, i.amount.0, &i.to).await? {
        Ok(q) => BillQuote::Ok {
            fee: q.fee.to_string(),
            total: q.total.to_string(),
            step_up: if q.step_up { "yes" } else { "no" }.to_owned(),
        },
        Err(BillQuoteRefusal::TooSmall { min }) => BillQuote::TooSmall { minimum: min.to_string() },
        Err(BillQuoteRefusal::TooLarge { max }) => BillQuote::TooLarge { maximum: max.to_string() },
        Err(BillQuoteRefusal::Transfer(refusal)) => match refusal {
            QuoteRefusal::InsufficientFunds { available } => {
                BillQuote::InsufficientFunds { available: available.to_string() }
            }
            QuoteRefusal::OverLimit { limit } => BillQuote::OverLimit { limit: limit.to_string() },
            QuoteRefusal::DailyLimit { left } => BillQuote::DailyLimit { left: left.to_string() },
            QuoteRefusal::Locked { until } => {
                let operator = if until.is_empty() { "yes" } else { "no" }.to_owned();
                BillQuote::Locked { until, operator }
            }
            QuoteRefusal::Frozen => BillQuote::Locked { until: String::new(), operator: "frozen".into() },
            QuoteRefusal::Other(refusal) => return refused(call, refusal.code()),
        },
    })
}

const QUOTE_BILL: ActionSpec = ActionSpec {
    name: "quote_bill",
    description: "The fee and total of buying `amount` of airtime or data for the line `to`, checked against the rules' range, the balance and the limits.",
    inputs: QuoteBillIn::NAMES,
    results: BillQuote::RESULTS,
    moves_money: false,
    verifies: false,
    remember: true,
    money_inputs: &[],
};

results!(
    /// A purchase's outcome.
    Bought {
        Ok = "ok" { reference, fee },
        Pending = "pending" { reference, fee },
        Failed = "failed" { reference },
        UnknownPlan = "unknown_plan",
        InsufficientFunds = "insufficient_funds",
        OverLimit = "over_limit",
        DailyLimit = "daily_limit",
        NotVerified = "not_verified",
        CodeRequired = "code_required",
        Locked = "locked",
        NotRegistered = "not_registered",
    }
);

fn bought(call: &ActionCall, outcome: Transfer) -> anyhow::Result<Bought> {
    Ok(match outcome {
        Transfer::Posted { reference, fee } => Bought::Ok { reference, fee: fee.to_string() },
        Transfer::Pending { reference, fee } => Bought::Pending { reference, fee: fee.to_string() },
        Transfer::Failed { reference } => Bought::Failed { reference },
        Transfer::Refused(refusal) => return refused(call, refusal.code()),
    })
}

inputs!(
    /// Airtime of `amount` for the line `phone` on `network`.
    BuyAirtimeIn { amount: Minor, network: String, phone: String }
);

async fn buy_airtime(bank: &Arc<Bank>, call: &ActionCall, i: BuyAirtimeIn) -> anyhow::Result<Bought> {
    let network = Network::parse(&i.network)
        .ok_or_else(|| anyhow::anyhow!("buy_airtime: {:?} is not a network", i.network))?;
    let order =
        BillOrder { kind: BillKind::Airtime, network, phone: i.phone, amount: i.amount.0, plan: None };
    bought(call, bank.buy(&call.customer, &order, &call.idempotency_key).await?)
}

/// Who a purchase's line and network may come from: the customer's answers or records.
const LINE_INPUTS: [MoneyInput; 2] = [
    MoneyInput { input: "network", answers: &["phone", "choice"] },
    MoneyInput { input: "phone", answers: &["phone", "choice"] },
];

const BUY_AIRTIME: ActionSpec = ActionSpec {
    name: "buy_airtime",
    description: "Buys `amount` of airtime for the line `phone` on `network`: held, then posted or returned.",
    inputs: BuyAirtimeIn::NAMES,
    results: Bought::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[MoneyInput { input: "amount", answers: &["amount"] }, LINE_INPUTS[0], LINE_INPUTS[1]],
};

inputs!(
    /// The data plan `plan` (its code) for the line `phone` on `network`, at the biller's price.
    BuyDataIn { plan: String, network: String, phone: String }
);

async fn buy_data(bank: &Arc<Bank>, call: &ActionCall, i: BuyDataIn) -> anyhow::Result<Bought> {
    let network = Network::parse(&i.network)
        .ok_or_else(|| anyhow::anyhow!("buy_data: {:?} is not a network", i.network))?;
    // The price is the biller's now, not what the flow carried.
    let plans = plans_on(bank, &i.network).await?.unwrap_or_default();
    let Some(plan) = plans.into_iter().find(|p| p.code == i.plan) else { return Ok(Bought::UnknownPlan) };
    let order =
        BillOrder { kind: BillKind::Data, network, phone: i.phone, amount: plan.amount, plan: Some(plan) };
    bought(call, bank.buy(&call.customer, &order, &call.idempotency_key).await?)
}

const BUY_DATA: ActionSpec = ActionSpec {
    name: "buy_data",
    description: "Buys the data plan `plan` for the line `phone` on `network`, at the biller's price: held, then posted or returned.",
    inputs: BuyDataIn::NAMES,
    results: Bought::RESULTS,
    moves_money: true,
    verifies: false,
    remember: true,
    money_inputs: &[
        MoneyInput { input: "plan", answers: &["text", "choice", "phone", "number"] },
        LINE_INPUTS[0],
        LINE_INPUTS[1],
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn plans() -> Vec<DataPlan> {
        [
            ("m-1", "100MB, 1 day", 10_000),
            ("m-2", "1GB, 7 days", 80_000),
            ("m-3", "2GB, 30 days", 150_000),
            ("m-4", "10GB, 30 days", 450_000),
        ]
        .into_iter()
        .map(|(code, name, amount)| DataPlan { code: code.into(), name: name.into(), amount })
        .collect()
    }

    #[test]
    fn a_plan_is_picked_by_number_or_by_name() {
        let plans = plans();
        let code = |choice: &str| pick(&plans, choice).map(|p| p.code.as_str());
        assert_eq!(code("2"), Some("m-2"));
        assert_eq!(code("4."), Some("m-4"));
        assert_eq!(code("0"), None);
        assert_eq!(code("5"), None);
        assert_eq!(code("1GB"), Some("m-2"));
        assert_eq!(code("1gb 7 days"), Some("m-2"));
        assert_eq!(code("2 gb"), Some("m-3"));
        assert_eq!(code("10GB"), Some("m-4"));
        assert_eq!(code("30 days"), None, "two plans have it");
        assert_eq!(code("5GB"), None);
        assert_eq!(code(""), None);
    }

    #[test]
    fn a_line_is_nigerian_and_its_network_found_or_named() {
        assert!(matches!(line("2348031234567", None), Line::Ok { network, .. } if network == "mtn"));
        assert!(matches!(line("2348031234567", Some("glo")), Line::Ok { network, .. } if network == "glo"));
        assert!(matches!(line("2347001234567", None), Line::UnknownNetwork { .. }));
        assert!(matches!(line("447911123456", None), Line::NotNigerian));
    }
}
