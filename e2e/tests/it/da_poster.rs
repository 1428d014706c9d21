//! The controller's DA poster against a real Esplora (the embedded devnet, or an
//! external regtest): it posts a batch from the operator's wallet, records where the
//! chunk was mined, follows a reorg and a mempool that lost the posting, and bumps a
//! posting the miners leave behind: by fee replacement where the mempool allows it
//! (Bitcoin Core 31, and the devnet by default), by a child where the mempool refuses
//! replacements (Core before 28, for a posting that does not signal BIP-125: the
//! devnet with `devnet.full_rbf = false`, a policy Core 31 no longer has).
//!
//! The first three tests drive the poster (`rollup_roles::controller::DaPoster` with its
//! `EsploraChain`) step by step on a node database of their own, as the controller's
//! tick drives it; the last runs a `rollup node` with `[controller.da]` enabled and
//! reads the location through `rollup_getBatchDa`.

use std::sync::Arc;

use bitcoin::{Amount, FeeRate, Network};
use prometheus::Registry;
use rollup_e2e::TestEnv;
use rollup_l1::da::{
    decode_transaction, fee_rate_from_estimates, reassemble_batch, FeePolicy, MAX_ENVELOPE_DATA,
};
use rollup_l2::{
    Block, BlockHeader, CompactBlock, L2Tx, PackedTx, PubKey, SignedTx, Transfer, UserTx, SIGNATURE_LEN,
};
use rollup_roles::controller::{
    batch_blob, AttemptKind, BatchRecord, Batches, DaAttempt, DaChain, DaMetrics, DaPoster, DaSettings,
    EsploraChain, TxState,
};
use rollup_roles::sequencer::{Blocks, CompactBlocks, Stored, StoredCompact};
use rollup_storage::Store;

const CHAIN_ID: u64 = 0xda;

/// An operator's database with closed batches, and its poster settings.
struct Operator {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    settings: DaSettings,
    metrics: DaMetrics,
}

impl Operator {
    fn new(bump_after_blocks: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), CHAIN_ID).unwrap());
        let settings = DaSettings {
            chain_id: CHAIN_ID,
            network: Network::Regtest,
            wallet_key: dir.path().join("da-poster.key"),
            fees: FeePolicy {
                target_blocks: 6,
                floor: FeeRate::from_sat_per_vb_u32(1),
                ceiling: FeeRate::from_sat_per_vb_u32(20),
            },
            max_bytes_per_block: 1_000_000,
            bump_after_blocks,
            devnet_faucet: Amount::ZERO,
        };
        Self { _dir: dir, store, settings, metrics: DaMetrics::register(&Registry::new()) }
    }

    fn poster(&self) -> DaPoster {
        DaPoster::load(self.store.clone(), self.settings.clone(), self.metrics.clone()).unwrap()
    }

    /// Seals blocks `first..=last`, each with `transfers` transfers creating accounts
    /// with pseudo-random keys (about 48 incompressible bytes each in the blob), and
    /// closes them as batch `number`. Returns the posted blob. The store does not
    /// check transactions: the blocks' signatures are zeros.
    fn close_batch(&self, number: u64, first: u64, last: u64, transfers: u32) -> Vec<u8> {
        let mut seed = number.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ first;
        let mut next = move || {
            // splitmix64
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        self.store
            .write(|tx| {
                for block in first..=last {
                    let header =
                        BlockHeader { number: block, timestamp_ms: 1_000 * block, ..BlockHeader::default() };
                    let mut signed = Vec::new();
                    let mut packed = Vec::new();
                    for nonce in 1..=transfers {
                        let to = 10 + u32::try_from(block).unwrap() * 100_000 + nonce;
                        let to_pubkey = PubKey(std::array::from_fn(|_| next() % 0xffff_ffff_0000_0001));
                        signed.push(L2Tx::User(SignedTx {
                            tx: UserTx::Transfer(Transfer {
                                from: 2,
                                to,
                                to_pubkey,
                                amount: 1,
                                fee: 1,
                                nonce,
                            }),
                            signature: vec![0; SIGNATURE_LEN],
                        }));
                        packed.push(PackedTx::Transfer {
                            from: 2,
                            to,
                            amount: 1,
                            fee: 1,
                            new_pubkey: Some(to_pubkey),
                        });
                    }
                    tx.put::<CompactBlocks>(&block, &StoredCompact(CompactBlock::new(&header, packed)))?;
                    tx.put::<Blocks>(&block, &Stored(Block { header, txs: signed }))?;
                }
                Ok(())
            })
            .unwrap();
        let mut record = BatchRecord {
            number,
            first_block: first,
            last_block: last,
            blocks: u32::try_from(last - first + 1).unwrap(),
            blob_bytes: 0,
            first_timestamp_ms: 1_000 * first,
            last_timestamp_ms: 1_000 * last,
        };
        let blob = batch_blob(&self.store, &record).unwrap();
        record.blob_bytes = blob.len() as u64;
        self.store.write(|tx| tx.put::<Batches>(&number, &record)).unwrap();
        blob
    }
}

/// Funds the poster's wallet with one confirmed coin.
fn fund(env: &TestEnv, poster: &DaPoster, sats: u64) {
    env.fund(poster.address(), Amount::from_sat(sats));
    env.mine(1, None);
}

#[test]
fn a_batch_is_posted_located_and_followed_through_a_reorg_and_a_lost_mempool() {
    let mut env = TestEnv::start();
    let operator = Operator::new(3);
    // About 600 kB (530 kB posted): two chunks, so two reveals, the second large
    // enough (about 35 kvB) that both do not fit beside their commit in one cluster.
    let blob = operator.close_batch(0, 1, 1, 12_000);
    assert!((MAX_ENVELOPE_DATA + 1..2 * MAX_ENVELOPE_DATA).contains(&blob.len()), "{}", blob.len());
    let mut poster = operator.poster();
    fund(&env, &poster, 10_000_000);
    let mut chain = EsploraChain::new(env.esplora_url());

    let report = poster.step(&chain).unwrap();
    assert_eq!(report.posted, [0]);
    let posting = poster.posting(0).unwrap().unwrap();
    assert_eq!(posting.chunks, 2);
    let attempt = posting.live().unwrap().clone();
    let reveal_txids: Vec<_> = attempt.reveals.iter().map(|reveal| reveal.compute_txid()).collect();
    // The commit and the first reveal are in the mempool; the second would make their
    // cluster larger than Bitcoin Core 31 keeps (101 kvB): it waits for the commit.
    assert_eq!(chain.tx_state(&attempt.commit.compute_txid()).unwrap(), TxState::Mempool);
    assert_eq!(chain.tx_state(&reveal_txids[0]).unwrap(), TxState::Mempool);
    assert_eq!(chain.tx_state(&reveal_txids[1]).unwrap(), TxState::Unknown);

    // The commit is mined: the second reveal goes out, and is mined a block later.
    let first = env.mine(1, None)[0];
    let report = poster.step(&chain).unwrap();
    assert_eq!((report.located, report.rebroadcast), (vec![], vec![0]));
    assert_eq!(chain.tx_state(&reveal_txids[1]).unwrap(), TxState::Mempool);
    let block = env.mine(1, None)[0];
    let height = env.esplora().get_height().unwrap();

    // Mined: the location of each chunk is recorded, and a reader finds the blob in
    // those reveals.
    assert_eq!(poster.step(&chain).unwrap().located, [0]);
    let location = poster.posting(0).unwrap().unwrap().location.unwrap();
    let found: Vec<_> =
        location.iter().map(|at| (at.index, at.reveal_txid, at.block_hash, at.height)).collect();
    assert_eq!(found, [(0, reveal_txids[0], first, height - 1), (1, reveal_txids[1], block, height)]);
    let mut envelopes = Vec::new();
    for at in &location {
        let mined = env.esplora().get_tx(&at.reveal_txid).unwrap().unwrap();
        envelopes.extend(
            decode_transaction(&mined, CHAIN_ID).into_iter().map(|decoded| decoded.result.unwrap().envelope),
        );
    }
    assert_eq!(reassemble_batch(0, &envelopes), Ok(blob));

    // A reorg takes the last block away; the second reveal goes back to the mempool,
    // so the poster only notices, and records the block that mines it again.
    env.reorg(1);
    let report = poster.step(&chain).unwrap();
    assert_eq!((report.unconfirmed, report.rebroadcast), (vec![0], vec![]));
    assert_eq!(poster.posting(0).unwrap().unwrap().location, None);
    let again = env.mine(1, None)[0];
    assert_eq!(poster.step(&chain).unwrap().located, [0]);
    let location = poster.posting(0).unwrap().unwrap().location.unwrap();
    assert_eq!(location[0].block_hash, first);
    assert_eq!((location[1].reveal_txid, location[1].block_hash), (reveal_txids[1], again));
    assert_ne!(again, block);

    // Another reorg, and the mempool is lost (the devnet restarts without one;
    // bitcoind's expires): the second reveal is gone from both, and the poster
    // rebroadcasts the very same transaction.
    env.reorg(1);
    env.lose_mempool();
    chain = EsploraChain::new(env.esplora_url());
    assert_eq!(chain.tx_state(&reveal_txids[1]).unwrap(), TxState::Unknown);
    let report = poster.step(&chain).unwrap();
    assert_eq!((report.unconfirmed, report.rebroadcast), (vec![0], vec![0]));
    assert_eq!(chain.tx_state(&reveal_txids[1]).unwrap(), TxState::Mempool);
    let third = env.mine(1, None)[0];
    assert_eq!(poster.step(&chain).unwrap().located, [0]);
    let posting = poster.posting(0).unwrap().unwrap();
    assert_eq!(posting.attempts.len(), 1, "the same transactions, not a new posting");
    assert_eq!(posting.location.as_ref().unwrap()[1].block_hash, third);
    assert_eq!(operator.metrics.posted_bytes.get(), posting.data_bytes);
    assert_eq!(operator.metrics.pending.get(), 0);
}

/// Batch 0 (two empty blocks) posted by a funded poster that bumps after 2 blocks, at
/// the rate its policy takes from Esplora's estimates: the floor of 1 sat/vB while
/// bitcoind has no fee history (a fresh regtest, the devnet), bitcoind's estimate once
/// it has. Returns the poster, its chain, the first attempt and the whole sat/vB rate
/// miners must ask for to leave it behind (one above its rate).
fn post_at_the_estimate(env: &TestEnv, operator: &Operator) -> (DaPoster, EsploraChain, DaAttempt, u64) {
    operator.close_batch(0, 1, 2, 0);
    let mut poster = operator.poster();
    fund(env, &poster, 10_000_000);
    let chain = EsploraChain::new(env.esplora_url());
    let rate = fee_rate_from_estimates(&chain.fee_estimates().unwrap(), &operator.settings.fees).unwrap();
    assert_eq!(poster.step(&chain).unwrap().posted, [0]);
    let first = poster.posting(0).unwrap().unwrap().live().unwrap().clone();
    assert_eq!(first.fee_rate_sat_kwu, rate.to_sat_per_kwu());
    (poster, chain, first, rate.to_sat_per_kwu() / 250 + 1)
}

/// Where the mempool refuses replacements, a child pays for the stuck posting. Bitcoin
/// Core 31 always replaces by fee, so this runs on the devnet set to the older policy
/// on either backend.
#[test]
fn a_posting_the_miners_leave_behind_is_bumped_by_a_child_where_replacement_is_refused() {
    let env = TestEnv::embedded_with(&[("ROLLUP__DEVNET__FULL_RBF", "false")]);
    let operator = Operator::new(2);
    let (mut poster, chain, first, asked) = post_at_the_estimate(&env, &operator);
    env.mine_above(1, asked);
    assert_eq!(poster.step(&chain).unwrap(), Default::default(), "one block: not stuck yet");
    env.mine_above(1, asked);
    assert_eq!(chain.tx_state(&first.commit.compute_txid()).unwrap(), TxState::Mempool);

    // Stuck for 2 blocks: this devnet refuses replacements, so a child pays.
    let report = poster.step(&chain).unwrap();
    assert_eq!((report.replaced, report.children), (vec![], vec![0]));
    let posting = poster.posting(0).unwrap().unwrap();
    assert_eq!(posting.attempts.len(), 1);
    let live = posting.live().unwrap();
    assert_eq!((live.kind, live.replacement_refused), (AttemptKind::Initial, true));
    let child = live.child.clone().unwrap();
    // One increment (1 sat/vB) above the stuck rate.
    assert_eq!(child.fee_rate_sat_kwu, first.fee_rate_sat_kwu + 250);
    assert_eq!(chain.tx_state(&child.tx.compute_txid()).unwrap(), TxState::Mempool);

    // The package now pays what the miners ask: mined, and located.
    let block = env.mine_above(1, asked)[0];
    for tx in std::iter::once(&live.commit).chain(&live.reveals).chain([&child.tx]) {
        assert!(
            matches!(chain.tx_state(&tx.compute_txid()).unwrap(), TxState::Confirmed { block_hash, .. } if block_hash == block)
        );
    }
    assert_eq!(poster.step(&chain).unwrap().located, [0]);
    assert_eq!(poster.posting(0).unwrap().unwrap().location.unwrap()[0].block_hash, block);
    assert_eq!(operator.metrics.bumps.get(), 1);
}

/// Where the mempool replaces by fee (Bitcoin Core 31's full RBF, the devnet's
/// default), the stuck posting's commit is replaced at a higher rate (its reveals with
/// it), and the replacement is mined.
#[test]
fn a_stuck_posting_is_replaced_by_fee_where_the_mempool_allows_it() {
    let env = TestEnv::start();
    let operator = Operator::new(2);
    let (mut poster, chain, first, asked) = post_at_the_estimate(&env, &operator);
    env.mine_above(2, asked);
    assert_eq!(chain.tx_state(&first.commit.compute_txid()).unwrap(), TxState::Mempool);

    // Stuck for 2 blocks: replaced, no child.
    let report = poster.step(&chain).unwrap();
    assert_eq!((report.replaced, report.children), (vec![0], vec![]));
    env.wait_synced();
    let posting = poster.posting(0).unwrap().unwrap();
    assert_eq!(posting.attempts.len(), 2);
    let live = posting.live().unwrap().clone();
    assert_eq!(
        (live.kind, live.fee_rate_sat_kwu, live.child.is_none()),
        (AttemptKind::Replacement, first.fee_rate_sat_kwu + 250, true)
    );
    // The replacement took the same coins; the first attempt left the mempool.
    assert_eq!(
        live.commit.input.iter().map(|input| input.previous_output).collect::<Vec<_>>(),
        first.commit.input.iter().map(|input| input.previous_output).collect::<Vec<_>>()
    );
    assert_eq!(chain.tx_state(&first.commit.compute_txid()).unwrap(), TxState::Unknown);
    for tx in std::iter::once(&live.commit).chain(&live.reveals) {
        assert_eq!(chain.tx_state(&tx.compute_txid()).unwrap(), TxState::Mempool);
    }

    let block = env.mine_above(1, asked)[0];
    assert_eq!(poster.step(&chain).unwrap().located, [0]);
    let location = poster.posting(0).unwrap().unwrap().location.unwrap();
    assert_eq!(location[0].block_hash, block);
    assert_eq!(location[0].reveal_txid, live.reveals[0].compute_txid());
    assert_eq!(operator.metrics.bumps.get(), 1);
}

/// A node with the sequencer and the controller, posting to the devnet.
#[test]
fn a_node_posts_its_batches_and_serves_where_they_are() {
    use rollup_e2e::{NodeOptions, NodeProcess};
    use rollup_l2::ecgfp5::SecretKey;
    use rollup_l2::{
        pubkey_of, sign, BatchRules, Encode, Genesis, SignedTx, Transfer, UserTx, DEVNET_USER_SEED,
    };
    use serde_json::{json, Value};
    use std::time::{Duration, Instant};

    const NODE_CHAIN_ID: u64 = 0x0052_4f4c;
    let env = TestEnv::start();
    let dir = tempfile::tempdir().unwrap();
    let genesis_path = dir.path().join("genesis.json");
    let genesis = Genesis {
        block_capacities: rollup_l2::DEFAULT_BLOCK_CAPACITIES.to_vec(),
        batch: BatchRules { max_blocks: 2, max_blob_bytes: 390_000, max_age_ms: 3_600_000 },
        ..Genesis::devnet(NODE_CHAIN_ID)
    };
    std::fs::write(&genesis_path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    let config = format!(
        "[roles]\nsequencer = true\ncontroller = true\n[node]\ngenesis = {:?}\n[sequencer]\nblock_time_ms = 20\n\
         [bitcoin]\nesplora_url = {:?}\n[controller.da]\nenabled = true\npoll_interval_ms = 50\n",
        genesis_path.to_str().unwrap(),
        env.esplora_url(),
    );
    let node = NodeProcess::start(NodeOptions::default().config(&config).data_dir(&dir.path().join("data")));
    node.wait_ready();
    let address = node.rpc_ok("rollup_getDaWallet", json!([]))["address"].as_str().unwrap().to_owned();
    assert!(address.starts_with("bcrt1p"), "{address}");
    assert_eq!(node.rpc_ok("rollup_getBatchDa", json!([0])), Value::Null);
    // The operator funds the poster's wallet with one confirmed coin.
    let address: bitcoin::Address =
        address.parse::<bitcoin::Address<_>>().unwrap().require_network(bitcoin::Network::Regtest).unwrap();
    env.fund(&address, bitcoin::Amount::from_sat(10_000_000));
    env.mine(1, None);

    let wait = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", node.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Two transfers in two blocks: batch 0 closes.
    let user = SecretKey::from_seed(DEVNET_USER_SEED);
    for nonce in 1..=2 {
        let tx = UserTx::Transfer(Transfer {
            from: 2,
            to: 50,
            to_pubkey: pubkey_of(&SecretKey::from_seed(b"da poster test")),
            amount: 1_000,
            fee: 1,
            nonce,
        });
        let signature = sign(&user, &tx.signing_message(NODE_CHAIN_ID));
        let hex = rollup_l2::hex::encode(&SignedTx { tx, signature }.encode());
        let id = node.rpc_ok("rollup_sendTransaction", json!([hex]));
        // One transfer per block.
        wait(
            "the transfer's block",
            Box::new(|| !node.rpc_ok("rollup_getTransactionReceipt", json!([id]))["block_number"].is_null()),
        );
    }
    wait("batch 0", Box::new(|| node.rpc_ok("rollup_getBatchCount", json!([])).as_u64() == Some(1)));

    wait("batch 0 posted", Box::new(|| !node.rpc_ok("rollup_getBatchDa", json!([0])).is_null()));
    let pending = node.rpc_ok("rollup_getBatchDa", json!([0]));
    assert_eq!((pending["status"].clone(), pending["chunks"].clone()), (json!("pending"), json!(1)));
    assert_eq!(pending["locations"], json!([]));
    // The posted form (packed, compressed) is smaller than the blocks' full encodings
    // the batch rule counts.
    let blob_bytes = node.rpc_ok("rollup_getBatch", json!([0]))["blob_bytes"].as_u64().unwrap();
    let data_bytes = pending["data_bytes"].as_u64().unwrap();
    assert!(data_bytes > 0 && data_bytes < blob_bytes, "{data_bytes} of {blob_bytes}");

    let block = env.mine(1, None)[0];
    wait(
        "batch 0 confirmed",
        Box::new(|| node.rpc_ok("rollup_getBatchDa", json!([0]))["status"] == json!("confirmed")),
    );
    let confirmed = node.rpc_ok("rollup_getBatchDa", json!([0]));
    let location = &confirmed["locations"][0];
    assert_eq!(location["index"], json!(0));
    assert_eq!(location["block_hash"], json!(block.to_string()));
    assert_eq!(location["height"], json!(env.esplora().get_height().unwrap()));
    assert_eq!(confirmed["commit_txid"], pending["commit_txid"]);
    assert_eq!(node.metric("rollup_da_posted_bytes_total"), Some(data_bytes as f64));
    assert_eq!(node.metric("rollup_da_pending_postings"), Some(0.0));

    // A fresh vigilante, which knows the genesis, Bitcoin and the poster's key and
    // nothing else, rebuilds the chain from Bitcoin alone: the same last header (its
    // hash covers the state root and every other field) and the same state root.
    let poster_key = node.rpc_ok("rollup_getDaWallet", json!([]))["poster_key"].as_str().unwrap().to_owned();
    let watcher_config = format!(
        "[roles]\nvigilante = true\n[node]\ngenesis = {:?}\n[bitcoin]\nesplora_url = {:?}\n\
         [vigilante]\nda_posters = [{poster_key:?}]\npoll_ms = 50\n",
        genesis_path.to_str().unwrap(),
        env.esplora_url(),
    );
    let watcher = NodeProcess::start(
        NodeOptions::default().config(&watcher_config).data_dir(&dir.path().join("watcher")),
    );
    watcher.wait_ready();
    // The devnet genesis makes a block final at 2 confirmations: one more block.
    env.mine(1, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while watcher.rpc_ok("rollup_getDaSync", json!([]))["next_batch"] != json!(1) {
        assert!(Instant::now() < deadline, "the vigilante did not replay batch 0\n{}", watcher.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let synced = watcher.rpc_ok("rollup_getDaSync", json!([]));
    let operator_head = node.rpc_ok("rollup_getBlockByNumber", json!([2]));
    assert_eq!(synced["head_number"], json!(2));
    assert_eq!(synced["head_hash"], operator_head["hash"]);
    assert_eq!(synced["state_root"], node.rpc_ok("rollup_getStateRoot", json!([]))["state_root"]);
    assert_eq!(synced["batches"][0]["number"], json!(0));
    assert_eq!(
        synced["batches"][0]["da_commitment"],
        node.rpc_ok("rollup_getBatchDa", json!([0]))["da_commitment"]
    );
    assert_eq!(synced["batches"][0]["da_commitment"].as_str().map(str::len), Some(64));
    assert_eq!(
        (synced["batches"][0]["first_block"].clone(), synced["batches"][0]["last_block"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(synced["last_error"], Value::Null);
    assert_eq!(watcher.metric("rollup_da_sync_next_batch"), Some(1.0));
}
