//! The busiest system accounts (fee income, settlement) kept in parts, on both SQL stores: each
//! posting moves the part its customer's wallet picks, a balance is the sum of its parts, and a
//! reversal takes a fee back out of the part it went into.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use teller::bank::rail::RailStatus;
use teller::bank::rules::Rules;
use teller::bank::{Bank, Callback, Destination, Transfer};
use teller::clock::ManualClock;
use teller::config::SqlBackend;
use teller::store::{AccountRow, CustomerRow, SqlStore};

use crate::harness::{self, KvKind, TestDb, assert_ledger_sound, bank_with, kv};

crate::harness::on_both_sql_backends!(
    fees_and_settlement_go_to_the_part_each_wallet_picks_and_sum_to_the_balance,
);

/// Which parts of the system account of `kind` are open, of the first nine.
async fn parts(store: &Arc<dyn SqlStore>, kind: &str) -> Vec<Option<AccountRow>> {
    let mut tx = store.begin().await.unwrap();
    let mut parts = Vec::new();
    for part in 0..9 {
        parts.push(harness::system_part(tx.bank(), kind, part).await);
    }
    tx.rollback().await.unwrap();
    parts
}

/// The posted balance of part `part` of `kind`, and the sum of all its parts.
async fn part_and_sum(store: &Arc<dyn SqlStore>, kind: &str, part: i64) -> (i64, i64) {
    let mut tx = store.begin().await.unwrap();
    let part = i32::try_from(part).unwrap();
    let row = harness::system_part(tx.bank(), kind, part).await.unwrap();
    let sum = tx.bank().system_balance(kind, "NGN").await.unwrap();
    tx.rollback().await.unwrap();
    (row.posted, sum)
}

async fn owner(store: &Arc<dyn SqlStore>, phone: &str) -> (CustomerRow, AccountRow) {
    let mut tx = store.begin().await.unwrap();
    let customer = tx.customers().customer_by_alias(&format!("wa:{phone}")).await.unwrap().unwrap();
    let wallet = tx.bank().customer_account(customer.id, "wallet").await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    (customer, wallet)
}

async fn fees_and_settlement_go_to_the_part_each_wallet_picks_and_sum_to_the_balance(sql: SqlBackend) {
    let db = TestDb::new(sql).await;
    let store = db.store().await;
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap()));
    let bank: Arc<Bank> = bank_with(store.clone(), kv(KvKind::Memory), clock, Rules::load(None).unwrap());
    bank.open().await.unwrap();
    let opened: Vec<Option<i64>> =
        parts(&store, "fee_income").await.iter().map(|p| p.as_ref().map(|a| a.id)).collect();
    // A second start (another instance, a restart) opens nothing more.
    bank.open().await.unwrap();
    let again: Vec<Option<i64>> =
        parts(&store, "fee_income").await.iter().map(|p| p.as_ref().map(|a| a.id)).collect();
    assert_eq!(opened, again);
    for kind in ["fee_income", "settlement"] {
        let open: Vec<bool> = parts(&store, kind).await.iter().map(Option::is_some).collect();
        assert_eq!(open, [true, true, true, true, true, true, true, true, false], "{kind}");
    }
    let suspense: Vec<bool> = parts(&store, "suspense").await.iter().map(Option::is_some).collect();
    assert_eq!(suspense[..2], [true, false], "suspense is one account");
    let number = parts(&store, "fee_income").await[3].as_ref().unwrap().number.clone();
    assert_eq!(number, "SYS-FEE_INCOME-NGN-3");

    // Two customers funded with ₦20,000 each: each credit comes out of the settlement part
    // their wallet picks.
    let (ada, bola) = ("2348031230011", "2348031230012");
    crate::conversations::customer(&bank, ada, "Ada Obi", "4821", Some("20,000")).await;
    crate::conversations::customer(&bank, bola, "Bola Ade", "4821", Some("20,000")).await;
    let (ada_row, ada_wallet) = owner(&store, ada).await;
    let (bola_row, bola_wallet) = owner(&store, bola).await;
    let (pa, pb) = (ada_wallet.id % 8, bola_wallet.id % 8);
    assert_ne!(pa, pb, "consecutive wallets pick different parts");
    assert_eq!(part_and_sum(&store, "settlement", pa).await, (-2_000_000, -4_000_000));
    assert_eq!(part_and_sum(&store, "settlement", pb).await, (-2_000_000, -4_000_000));

    // A transfer each way: each ₦10 fee goes into the part its sender's wallet picks; a repeat
    // of the first moves nothing.
    let first = bank.move_internal(&ada_row, &ada_wallet, &bola_row, 100_000, "t1").await.unwrap();
    let Transfer::Posted { reference, fee: 1_000 } = &first else { panic!("{first:?}") };
    bank.move_internal(&bola_row, &bola_wallet, &ada_row, 50_000, "t2").await.unwrap();
    let repeat = bank.move_internal(&ada_row, &ada_wallet, &bola_row, 100_000, "t1").await.unwrap();
    assert!(matches!(&repeat, Transfer::Posted { reference: r, .. } if r == reference), "{repeat:?}");
    assert_eq!(part_and_sum(&store, "fee_income", pa).await, (1_000, 2_000));
    assert_eq!(part_and_sum(&store, "fee_income", pb).await, (1_000, 2_000));

    // Ada sends ₦5,000 to another bank; it arrives, then comes back (reversed): the fee
    // leaves the part it went into, and Ada has every kobo back.
    let key = format!("wa:{ada}");
    crate::bank::authorise(&bank, &store, &key, 500_000, "058:0123456785", "x1").await;
    let to = Destination { bank: "gtbank".into(), account: "0123456785".into(), name: "Amaka Eze".into() };
    let Transfer::Pending { reference, fee } =
        bank.transfer_external(&key, &to, 500_000, "x1").await.unwrap()
    else {
        panic!("not pending")
    };
    let before = bank.balance(&key).await.unwrap().unwrap().0.available + 500_000 + fee;
    assert_eq!(bank.settle(&reference, &RailStatus::Success).await.unwrap(), Callback::Applied);
    assert_eq!(part_and_sum(&store, "fee_income", pa).await, (1_000 + fee, 2_000 + fee));
    let mut tx = store.begin().await.unwrap();
    let row = tx.bank().transaction_by_reference(&reference).await.unwrap().unwrap();
    let fee_part = tx.bank().system_entry(row.id, "fee_income").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        fee_part,
        parts(&store, "fee_income").await[usize::try_from(pa).unwrap()].as_ref().map(|a| a.id)
    );
    let reversed = RailStatus::Reversed("the receiving bank sent it back".into());
    assert_eq!(bank.settle(&reference, &reversed).await.unwrap(), Callback::Applied);
    assert_eq!(bank.settle(&reference, &reversed).await.unwrap(), Callback::Duplicate);
    assert_eq!(part_and_sum(&store, "fee_income", pa).await, (1_000, 2_000));
    assert_eq!(bank.balance(&key).await.unwrap().unwrap().0.available, before);
    assert_ledger_sound(&bank).await;
}
