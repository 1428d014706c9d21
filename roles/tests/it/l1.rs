//! Forced inclusion: the sequencer takes every ready L1 message before user
//! transactions, anchors its blocks within the window, and stops (saying why) when no
//! block could keep the rules.

use std::sync::{Arc, Mutex};

use rollup_l2::{Deposit, L1Anchor, L1Outpoint, L2Tx, Receipt, SignedTx};
use rollup_roles::sequencer::{
    L1Inclusion, L1Message, L1MessageSource, L1SourceError, L1Stall, MessageLog, SequencerComponent,
    SequencerSettings,
};
use rollup_storage::Store;

use super::{genesis, key, settings, store, transfer};
use rollup_l2::pubkey_of;

/// A source over a [`MessageLog`] whose final tip (or failure) the test sets.
#[derive(Clone)]
struct Scripted {
    log: Arc<Mutex<MessageLog>>,
    final_tip: Arc<Mutex<Result<u32, String>>>,
    /// Replaces the answer's anchor or messages, to play a broken source.
    tamper: Arc<Mutex<Option<L1Inclusion>>>,
}

impl Default for Scripted {
    fn default() -> Self {
        Self {
            log: Arc::default(),
            final_tip: Arc::new(Mutex::new(Err("no tip yet".to_owned()))),
            tamper: Arc::default(),
        }
    }
}

impl Scripted {
    fn block(&self, height: u32, messages: Vec<L2Tx>) {
        self.log.lock().unwrap().push_block(anchor(height), messages);
    }

    fn final_tip(&self, tip: Result<u32, &str>) {
        *self.final_tip.lock().unwrap() = tip.map_err(str::to_owned);
    }
}

impl L1MessageSource for Scripted {
    fn next(&mut self, from: u64, max: usize) -> Result<L1Inclusion, L1SourceError> {
        if let Some(tampered) = self.tamper.lock().unwrap().clone() {
            return Ok(tampered);
        }
        let final_tip_height = self.final_tip.lock().unwrap().clone().map_err(L1SourceError::Unavailable)?;
        let (messages, anchor) = self.log.lock().unwrap().take(from, max)?;
        Ok(L1Inclusion { messages, anchor, final_tip_height })
    }
}

fn anchor(height: u32) -> L1Anchor {
    L1Anchor { height, hash: [u8::try_from(height % 256).unwrap(); 32] }
}

fn deposit(n: u8, to: u32, amount: u64) -> L2Tx {
    L2Tx::Deposit(Deposit {
        l1_outpoint: L1Outpoint { txid: [n; 32], vout: 0 },
        amount,
        to,
        to_pubkey: pubkey_of(&key(to as u8)),
    })
}

/// A sequencer of the test genesis (window 6) holding `max_block_txs` per block.
fn open(store: &Arc<Store>, source: &Scripted, max_block_txs: usize) -> SequencerComponent {
    let settings = SequencerSettings { max_block_txs, ..settings(8, 100) };
    SequencerComponent::load(store.clone(), &genesis(), settings, Box::new(source.clone())).unwrap()
}

fn kinds(sequencer: &SequencerComponent, number: u64) -> Vec<&'static str> {
    let block = sequencer.block(number).unwrap().unwrap();
    block
        .txs
        .iter()
        .map(|tx| match tx {
            L2Tx::User(_) => "user",
            L2Tx::Deposit(_) => "deposit",
            L2Tx::Forced(_) => "forced",
        })
        .collect()
}

#[test]
fn messages_come_before_users_and_the_anchor_follows_what_was_consumed() {
    let (_dir, store) = store();
    let source = Scripted::default();
    source.block(9, vec![]);
    source.block(10, vec![deposit(0, 5, 100), deposit(1, 6, 200), deposit(2, 7, 300)]);
    source.block(11, vec![]);
    source.final_tip(Ok(15));
    let mut sequencer = open(&store, &source, 2);
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap_or_else(|_| panic!("admitted"));

    // Two messages fill the block: block 10 is not consumed whole, the anchor is 9.
    let one = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((one.l1_cursor_before, one.l1_cursor_after, one.l1_anchor), (0, 2, anchor(9)));
    assert_eq!(kinds(&sequencer, 1), vec!["deposit", "deposit"]);
    // The third message, then the user: block 10 is consumed, and the empty 11 too.
    let two = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((two.l1_cursor_before, two.l1_cursor_after, two.l1_anchor), (2, 3, anchor(11)));
    assert_eq!(kinds(&sequencer, 2), vec!["deposit", "user"]);
    assert_eq!(sequencer.account(7).map(|account| account.balance), Some(300));
    assert_eq!(sequencer.l1_stall(), None);
    let status = sequencer.l1_status();
    assert_eq!((status.cursor, status.anchor_height, status.final_tip_height), (3, 11, Some(15)));
}

#[test]
fn no_block_lags_the_final_tip_by_more_than_the_window() {
    let (_dir, store) = store();
    let source = Scripted::default();
    source.block(9, vec![]);
    source.block(10, vec![deposit(0, 5, 100), deposit(1, 6, 200), deposit(2, 7, 300)]);
    // The best anchor a block of two can have is 9: 17 - 9 = 8 blocks over a window of 6.
    source.final_tip(Ok(17));
    let mut sequencer = open(&store, &source, 2);
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap_or_else(|_| panic!("admitted"));
    assert_eq!(sequencer.produce_block().unwrap(), None);
    let stall = L1Stall::WindowExceeded { anchor_height: 9, final_tip_height: 17, lag: 8, window: 6 };
    assert_eq!(sequencer.l1_stall(), Some(&stall));
    assert_eq!(
        sequencer.l1_status().stalled.as_deref(),
        Some(
            "the anchor would be Bitcoin block 9, 8 blocks below the final tip 17: over the forced inclusion \
             window of 6"
        )
    );
    // Not even an overdue batch or a full mempool makes a block.
    assert_eq!(sequencer.close_overdue_batch(u64::MAX).unwrap(), None);
    assert_eq!(sequencer.head().number, 0);
    assert_eq!(sequencer.pending(), 1);

    // A final tip 6 above the anchor is within the window: production resumes.
    source.final_tip(Ok(15));
    let one = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((one.l1_cursor_after, one.l1_anchor), (2, anchor(9)));
    assert_eq!(sequencer.l1_stall(), None);
}

#[test]
fn an_unreachable_bitcoin_stops_block_production() {
    let (_dir, store) = store();
    let source = Scripted::default();
    source.block(3, vec![]);
    source.final_tip(Err("cannot read the tip height: connection refused"));
    let mut sequencer = open(&store, &source, 4);
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap_or_else(|_| panic!("admitted"));
    assert_eq!(sequencer.produce_block().unwrap(), None);
    assert_eq!(
        sequencer.l1_stall().map(ToString::to_string).as_deref(),
        Some("L1 messages unavailable: cannot read the tip height: connection refused")
    );
    source.final_tip(Ok(3));
    assert_eq!(sequencer.produce_block().unwrap().map(|header| header.l1_anchor), Some(anchor(3)));
    assert_eq!(sequencer.l1_stall(), None);
}

#[test]
fn a_source_that_breaks_the_cursor_or_moves_the_anchor_back_is_refused() {
    let (_dir, store) = store();
    let source = Scripted::default();
    source.block(8, vec![deposit(0, 5, 100)]);
    source.final_tip(Ok(8));
    let mut sequencer = open(&store, &source, 4);
    assert_eq!(sequencer.produce_block().unwrap().map(|header| header.l1_anchor), Some(anchor(8)));

    // Message 3 where message 1 comes next.
    *source.tamper.lock().unwrap() = Some(L1Inclusion {
        messages: vec![L1Message { cursor: 3, tx: deposit(3, 5, 1) }],
        anchor: anchor(9),
        final_tip_height: 9,
    });
    assert_eq!(sequencer.produce_block().unwrap(), None);
    assert_eq!(sequencer.l1_stall(), Some(&L1Stall::CursorGap { expected: 1, found: 3 }));

    // An anchor below the head's, and one at its height with another hash.
    for (proposed, hash) in [(anchor(7), [7u8; 32]), (L1Anchor { height: 8, hash: [1; 32] }, [1u8; 32])] {
        *source.tamper.lock().unwrap() =
            Some(L1Inclusion { messages: vec![], anchor: proposed, final_tip_height: 9 });
        sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).ok();
        assert_eq!(sequencer.produce_block().unwrap(), None);
        assert_eq!(
            sequencer.l1_stall(),
            Some(&L1Stall::AnchorBehind {
                proposed_height: proposed.height,
                proposed_hash: rollup_l2::hex::encode(&hash),
                head_height: 8,
                head_hash: rollup_l2::hex::encode(&[8; 32]),
            })
        );
    }
    assert_eq!(sequencer.head().number, 1);
}

#[test]
fn an_ignored_sender_is_censored_on_rpc_but_its_forced_transaction_executes() {
    let (_dir, store) = store();
    let source = Scripted::default();
    source.block(1, vec![]);
    source.final_tip(Ok(1));
    let mut sequencer = open(&store, &source, 4);
    sequencer.set_ignored_senders([2].into_iter().collect());

    // The RPC transfer is acknowledged, then dropped instead of included.
    sequencer.submit(transfer(2, 2, 3, 10, 1, 1)).unwrap_or_else(|_| panic!("admitted"));
    assert_eq!(sequencer.produce_block().unwrap(), None);
    assert_eq!(sequencer.pending(), 0);
    assert_eq!(sequencer.account(2).map(|account| account.nonce), Some(0));

    // The same transfer forced through Bitcoin is executed.
    let forced: SignedTx = transfer(2, 2, 3, 10, 1, 1);
    source.block(2, vec![L2Tx::Forced(forced.clone())]);
    source.final_tip(Ok(2));
    let header = sequencer.produce_block().unwrap().unwrap();
    assert_eq!((header.l1_cursor_after, header.l1_anchor), (1, anchor(2)));
    assert_eq!(kinds(&sequencer, 1), vec!["forced"]);
    assert_eq!(sequencer.account(2).map(|account| (account.balance, account.nonce)), Some((10_000 - 11, 1)));
    assert_eq!(sequencer.account(3).map(|account| account.balance), Some(10));
    let receipt = sequencer.receipt(&L2Tx::Forced(forced).id(super::CHAIN_ID)).unwrap().unwrap();
    assert_eq!((receipt.block_number, receipt.position, receipt.receipt), (1, 0, Receipt::Success));
}
