//! Stages 2 and 3: a chain of three batches proves and verifies from genesis, and
//! every break of the chain is refused.

use std::sync::OnceLock;

use plonky2::field::types::Field;

use rollup_circuits::batch::{
    BatchCircuits, ChainProof, ChainStatement, ChainVerifier, SegmentProof, SegmentStatement,
};
use rollup_circuits::block::{execute_block, BlockCircuit, BlockParameters, BlockProof, Chains};
use rollup_circuits::{ProofSystem, ProofSystemError};
use rollup_l2::ecgfp5::SecretKey;
use rollup_l2::{
    chain_batch_tx, pubkey_of, sign, tx_commitment, Account, AccountTree, Block, BlockHeader,
    CodeControlGroup, CodeEntry, Deposit, Digest, L1Outpoint, L2Tx, MemoryAccounts, MemoryTreeStore, PubKey,
    SignedTx, State, StfParams, Transfer, UserTx, LAST_BLOCK_NUMBER,
};

type TestState = State<MemoryAccounts, MemoryTreeStore>;

const PARAMS: StfParams = StfParams { chain_id: 77, fee_account: 1 };
/// A circuit of the same shape that credits fees elsewhere: another digest.
const ROGUE: StfParams = StfParams { chain_id: 77, fee_account: 2 };
const CAPACITY: usize = 2;

fn key(index: u32) -> SecretKey {
    SecretKey::from_seed(&[index as u8, 7])
}

fn pubkey(index: u32) -> PubKey {
    pubkey_of(&key(index))
}

fn genesis_state() -> TestState {
    let mut state = State::new(MemoryAccounts::default(), AccountTree::new(MemoryTreeStore::default()));
    for index in 1..=3 {
        state.put_account(index, Account { pubkey: pubkey(index), balance: 1_000_000, nonce: 0 });
    }
    state
}

fn transfer(from: u32, to: u32, amount: u64, nonce: u32) -> L2Tx {
    let tx = UserTx::Transfer(Transfer { from, to, to_pubkey: pubkey(to), amount, fee: 3, nonce });
    let signature = sign(&key(from), &tx.signing_message(PARAMS.chain_id));
    L2Tx::User(SignedTx { tx, signature })
}

fn deposit(to: u32, amount: u64, vout: u32) -> L2Tx {
    L2Tx::Deposit(Deposit {
        l1_outpoint: L1Outpoint { txid: [9; 32], vout },
        amount,
        to,
        to_pubkey: pubkey(to),
    })
}

/// A chain being sealed and proven block by block, as sequencer and prover do.
#[derive(Clone)]
struct Chain {
    state: TestState,
    chains: Chains,
    cursor: u64,
}

impl Chain {
    fn new() -> Self {
        Self { state: genesis_state(), chains: Chains::default(), cursor: 0 }
    }

    /// Seals block `number` holding `txs` on this chain's state and proves it.
    fn prove(&mut self, circuit: &BlockCircuit, number: u64, txs: Vec<L2Tx>) -> BlockProof {
        let mut sealed = self.state.clone();
        let prev_state_root = sealed.root();
        let packed =
            sealed.apply_block(&circuit.parameters().stf, &txs).expect("test transactions are valid");
        let intrinsic = txs.iter().filter(|tx| tx.is_intrinsic()).count() as u64;
        let header = BlockHeader {
            number,
            prev_state_root,
            state_root: sealed.root(),
            tx_commitment: tx_commitment(&packed),
            l1_cursor_before: self.cursor,
            l1_cursor_after: self.cursor + intrinsic,
            ..Default::default()
        };
        self.cursor += intrinsic;
        let block = Block { header, txs };
        let witness = execute_block(&mut self.state, &circuit.parameters().stf, &block, &mut self.chains)
            .expect("the witness");
        circuit.prove(&witness).expect("the block proves")
    }
}

struct Fixture {
    block: BlockCircuit,
    rogue: BlockCircuit,
    circuits: BatchCircuits,
    registry: CodeControlGroup,
    genesis_root: Digest,
    /// Blocks 1..=6, proven in order on one chain.
    blocks: Vec<BlockProof>,
    /// Batches [1], [2, 3], [4, 5, 6]: their aggregation roots and chain proofs.
    roots: Vec<SegmentProof>,
    proofs: Vec<ChainProof>,
    /// The chain after block 1, to seal blocks that break it.
    after_first: Chain,
}

fn leaves(fixture: (&BatchCircuits, &BlockCircuit), blocks: &[BlockProof]) -> Vec<SegmentProof> {
    let mut link = Digest::ZERO;
    blocks
        .iter()
        .map(|proof| {
            let leaf = fixture.0.prove_leaf(fixture.1, proof, &link).expect("the leaf proves");
            link = leaf.statement().expect("a statement").tx_chain_after;
            leaf
        })
        .collect()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let block = BlockCircuit::setup(BlockParameters { capacity: CAPACITY, stf: PARAMS }).unwrap();
        let rogue = BlockCircuit::setup(BlockParameters { capacity: CAPACITY, stf: ROGUE }).unwrap();
        let circuits = BatchCircuits::build(&[&block]).unwrap();
        let registry = circuits.registry(1, LAST_BLOCK_NUMBER).unwrap();
        let genesis_root = genesis_state().root();

        let mut chain = Chain::new();
        let mut blocks = vec![chain.prove(&block, 1, vec![deposit(3, 500, 0)])];
        let after_first = chain.clone();
        blocks.push(chain.prove(&block, 2, vec![transfer(2, 3, 100, 1)]));
        blocks.push(chain.prove(&block, 3, vec![deposit(4, 70, 1), transfer(3, 4, 20, 1)]));
        blocks.push(chain.prove(&block, 4, vec![transfer(2, 1, 5, 2)]));
        blocks.push(chain.prove(&block, 5, vec![]));
        blocks.push(chain.prove(&block, 6, vec![transfer(4, 2, 10, 1), transfer(3, 2, 1, 2)]));

        let mut roots = Vec::new();
        let mut proofs: Vec<ChainProof> = Vec::new();
        for range in [0..1, 1..3, 3..6] {
            let leaves = leaves((&circuits, &block), &blocks[range]);
            let root = circuits.aggregate(leaves, |_, _, _| {}).unwrap();
            let proof = circuits.prove_recursion(proofs.last(), &root, &genesis_root, &registry).unwrap();
            roots.push(root);
            proofs.push(proof);
        }
        Fixture { block, rogue, circuits, registry, genesis_root, blocks, roots, proofs, after_first }
    })
}

/// What batch `number` over `blocks` must prove, computed from the block statements.
fn expected(number: u64, blocks: &[BlockProof], fixture: &Fixture) -> ChainStatement {
    let statements: Vec<_> = blocks.iter().map(|proof| proof.statement().unwrap()).collect();
    let (first, last) = (statements[0], statements[statements.len() - 1]);
    ChainStatement {
        genesis_root: fixture.genesis_root,
        code_control_root: fixture.registry.root(),
        batch_number: number,
        first_block: first.number,
        last_block: last.number,
        from_root: first.prev_state_root,
        to_root: last.state_root,
        tx_chain: statements
            .iter()
            .fold(Digest::ZERO, |link, s| chain_batch_tx(&link, s.number, &s.tx_commitment)),
        l1_cursor_before: first.l1_cursor_before,
        l1_cursor_after: last.l1_cursor_after,
        l1_chain_before: first.l1_chain_before,
        l1_chain_after: last.l1_chain_after,
        withdrawal_chain_before: first.withdrawal_chain_before,
        withdrawal_chain_after: last.withdrawal_chain_after,
        da_commitment: None,
    }
}

#[test]
fn three_batches_prove_and_verify_from_genesis() {
    let fixture = fixture();
    let ranges = [0..1, 1..3, 3..6];
    for (number, range) in ranges.into_iter().enumerate() {
        let statement = expected(number as u64, &fixture.blocks[range], fixture);
        fixture.circuits.verify_chain(&statement, &fixture.proofs[number]).unwrap();
        assert_eq!(fixture.proofs[number].statement(), Some(statement));
    }
    // Batch 0 starts at genesis; each batch starts where the previous ends.
    assert_eq!(fixture.proofs[0].statement().unwrap().from_root, fixture.genesis_root);
    for pair in fixture.proofs.windows(2) {
        let (a, b) = (pair[0].statement().unwrap(), pair[1].statement().unwrap());
        assert_eq!(
            (b.from_root, b.first_block, b.l1_cursor_before),
            (a.to_root, a.last_block + 1, a.l1_cursor_after)
        );
    }
    // The root of three leaves: a node over a node and a promoted leaf, whose codes
    // name the block circuit.
    let root = fixture.roots[2].statement().unwrap();
    let digests = fixture.circuits.digests();
    assert_eq!((root.first_block, root.last_block), (4, 6));
    assert_eq!(root.codes[0], digests.blocks[0].1);
    assert_eq!(&root.codes[1..], &[Digest::ZERO, Digest::ZERO]);
    fixture.circuits.verify_segment(&root, &fixture.roots[2]).unwrap();
    // Proofs survive their encodings.
    let bytes = fixture.proofs[2].to_bytes();
    let decoded = fixture.circuits.decode_chain(&bytes).unwrap();
    fixture.circuits.verify_chain(&fixture.proofs[2].statement().unwrap(), &decoded).unwrap();
    let segment = fixture.circuits.decode_segment(&fixture.roots[1].to_bytes()).unwrap();
    assert_eq!(segment.kind, fixture.roots[1].kind);
    assert!(matches!(fixture.circuits.decode_chain(&bytes[..100]), Err(ProofSystemError::Decode(_))));
    assert!(matches!(fixture.circuits.decode_chain(&[2, 0, 0]), Err(ProofSystemError::Decode(_))));
}

fn refused<T: std::fmt::Debug>(result: Result<T, ProofSystemError>) {
    match result {
        Err(ProofSystemError::Prove(_)) => {}
        other => panic!("expected the prover to refuse, got {other:?}"),
    }
}

#[test]
fn a_batch_that_does_not_start_at_the_previous_state_is_refused() {
    let fixture = fixture();
    // Block 2 sealed on the genesis state (not after block 1): valid alone.
    let mut fork = Chain::new();
    fork.cursor = 1;
    fork.chains = fixture.after_first.chains;
    let forked = fork.prove(&fixture.block, 2, vec![transfer(2, 3, 100, 1)]);
    let leaf = leaves((&fixture.circuits, &fixture.block), std::slice::from_ref(&forked)).remove(0);
    refused(fixture.circuits.prove_recursion(
        Some(&fixture.proofs[0]),
        &leaf,
        &fixture.genesis_root,
        &fixture.registry,
    ));
    // Nor may it follow block 1 inside a batch.
    let first = leaves((&fixture.circuits, &fixture.block), &fixture.blocks[..1]).remove(0);
    let mut second = leaf.clone();
    second.proof = fixture
        .circuits
        .prove_leaf(&fixture.block, &forked, &first.statement().unwrap().tx_chain_after)
        .unwrap()
        .proof;
    refused(fixture.circuits.prove_node(&first, &second));
}

#[test]
fn gaps_and_repeats_in_block_numbers_are_refused() {
    let fixture = fixture();
    let first = leaves((&fixture.circuits, &fixture.block), &fixture.blocks[..1]).remove(0);
    let link = first.statement().unwrap().tx_chain_after;
    for number in [3, 1] {
        // Sealed on the state after block 1, continuing every chain: only the
        // number is wrong.
        let mut chain = fixture.after_first.clone();
        let proof = chain.prove(&fixture.block, number, vec![transfer(2, 3, 100, 1)]);
        let inside = fixture.circuits.prove_leaf(&fixture.block, &proof, &link).unwrap();
        refused(fixture.circuits.prove_node(&first, &inside));
        let alone = fixture.circuits.prove_leaf(&fixture.block, &proof, &Digest::ZERO).unwrap();
        refused(fixture.circuits.prove_recursion(
            Some(&fixture.proofs[0]),
            &alone,
            &fixture.genesis_root,
            &fixture.registry,
        ));
    }
    // The control: numbered 2, the same block is accepted after block 1.
    let mut chain = fixture.after_first.clone();
    let proof = chain.prove(&fixture.block, 2, vec![transfer(2, 3, 100, 1)]);
    let inside = fixture.circuits.prove_leaf(&fixture.block, &proof, &link).unwrap();
    fixture.circuits.prove_node(&first, &inside).unwrap();
}

#[test]
fn a_block_circuit_outside_the_registry_is_refused() {
    let fixture = fixture();
    let rogue_digest = fixture.rogue.data().verifier_only.circuit_digest;
    assert_ne!(rogue_digest, fixture.block.data().verifier_only.circuit_digest);
    assert_eq!(fixture.circuits.class_of(&fixture.rogue), Some(0));
    // Block 2 (a deposit: valid under either circuit) proven by the rogue circuit.
    let mut chain = fixture.after_first.clone();
    let rogue_proof = chain.prove(&fixture.rogue, 2, vec![deposit(2, 1, 5)]);
    let leaf = fixture.circuits.prove_leaf(&fixture.rogue, &rogue_proof, &Digest::ZERO).unwrap();

    // The honest registry does not list it.
    match fixture.circuits.prove_recursion(
        Some(&fixture.proofs[0]),
        &leaf,
        &fixture.genesis_root,
        &fixture.registry,
    ) {
        Err(ProofSystemError::Witness(message)) => {
            assert!(message.contains("not in the code control group"), "{message}")
        }
        other => panic!("expected a witness error, got {other:?}"),
    }
    // A registry that lists it is not the chain's: the circuit refuses its root.
    let mut entries = fixture.registry.entries().to_vec();
    entries.push(CodeEntry {
        class: 0,
        digest: Digest::from_elements(rogue_digest.elements),
        first_block: 1,
        last_block: LAST_BLOCK_NUMBER,
    });
    let widened = CodeControlGroup::new(entries).unwrap();
    refused(fixture.circuits.prove_recursion(
        Some(&fixture.proofs[0]),
        &leaf,
        &fixture.genesis_root,
        &widened,
    ));

    // At batch 0 a prover may pick its registry, and the verifier sees it did.
    let mut chain = Chain::new();
    let rogue_first = chain.prove(&fixture.rogue, 1, vec![deposit(3, 500, 0)]);
    let leaf = fixture.circuits.prove_leaf(&fixture.rogue, &rogue_first, &Digest::ZERO).unwrap();
    let proof = fixture.circuits.prove_recursion(None, &leaf, &fixture.genesis_root, &widened).unwrap();
    let honest = expected(0, &fixture.blocks[..1], fixture);
    match fixture.circuits.verify_chain(&honest, &proof) {
        Err(ProofSystemError::StatementMismatch { field, .. }) => assert_eq!(field, "code_control_root"),
        other => panic!("expected a statement mismatch, got {other:?}"),
    }
}

#[test]
fn a_tampered_chain_proof_does_not_verify() {
    let fixture = fixture();
    let statement = fixture.proofs[1].statement().unwrap();
    let mut tampered = fixture.proofs[1].clone();
    tampered.proof.public_inputs[15] += rollup_l2::F::from_canonical_u64(1);
    assert!(matches!(fixture.circuits.verify_chain(&statement, &tampered), Err(ProofSystemError::Verify(_))));
    let mut tampered = fixture.proofs[1].clone();
    tampered.proof.proof.opening_proof.final_poly.coeffs[0].0[0] += rollup_l2::F::from_canonical_u64(1);
    assert!(matches!(fixture.circuits.verify_chain(&statement, &tampered), Err(ProofSystemError::Verify(_))));
    // A segment proof is not a chain proof.
    let as_chain = ChainProof { proof: fixture.roots[1].proof.clone() };
    assert!(matches!(fixture.circuits.verify_chain(&statement, &as_chain), Err(ProofSystemError::Verify(_))));
}

#[test]
fn the_chain_verifier_alone_checks_chain_proofs_as_the_family_does_and_survives_its_encoding() {
    let fixture = fixture();
    let verifier = fixture.circuits.chain_verifier();
    assert_eq!(verifier.digest(), fixture.circuits.digests().recursion);
    let bytes = verifier.to_bytes().unwrap();
    assert_eq!(&bytes[..8], b"RLCHAIN\x01");
    let loaded = ChainVerifier::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.digest(), verifier.digest());
    assert_eq!(loaded.data().common, verifier.data().common);

    let statement = fixture.proofs[2].statement().unwrap();
    let decoded = loaded.decode_chain(&fixture.proofs[2].to_bytes()).unwrap();
    loaded.verify_chain(&statement, &decoded).unwrap();
    // The same refusals as the family's.
    let mut tampered = fixture.proofs[2].clone();
    tampered.proof.proof.opening_proof.final_poly.coeffs[0].0[0] += rollup_l2::F::from_canonical_u64(1);
    assert!(matches!(loaded.verify_chain(&statement, &tampered), Err(ProofSystemError::Verify(_))));
    let other = fixture.proofs[1].statement().unwrap();
    assert!(matches!(
        loaded.verify_chain(&other, &decoded),
        Err(ProofSystemError::StatementMismatch { field: "batch_number", .. })
    ));
    let as_chain = ChainProof { proof: fixture.roots[1].proof.clone() };
    assert!(matches!(loaded.verify_chain(&statement, &as_chain), Err(ProofSystemError::Verify(_))));
    assert!(matches!(loaded.decode_chain(&[2, 0, 0]), Err(ProofSystemError::Decode(_))));

    // What is not a chain verifier is refused, saying why.
    let message = |bytes: &[u8]| match ChainVerifier::from_bytes(bytes) {
        Err(ProofSystemError::Decode(message)) => message,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert_eq!(message(b"garbage"), "not a chain verifier (no RLCHAIN version 1 header)");
    assert_eq!(message(&bytes[1..]), "not a chain verifier (no RLCHAIN version 1 header)");
    assert!(message(&bytes[..bytes.len() / 2]).starts_with("a malformed chain verifier: "));
}

#[test]
fn a_wrong_genesis_is_refused() {
    let fixture = fixture();
    let statement = fixture.proofs[2].statement().unwrap();
    let other = ChainStatement { genesis_root: Digest([1, 2, 3, 4]), ..statement };
    match fixture.circuits.verify_chain(&other, &fixture.proofs[2]) {
        Err(ProofSystemError::StatementMismatch { field, .. }) => assert_eq!(field, "genesis_root"),
        other => panic!("expected a statement mismatch, got {other:?}"),
    }
    // Batch 0 must start from the genesis it names.
    refused(fixture.circuits.prove_recursion(
        None,
        &fixture.roots[0],
        &Digest([1, 2, 3, 4]),
        &fixture.registry,
    ));
    // And batch 1 cannot restart the chain.
    refused(fixture.circuits.prove_recursion(
        None,
        &fixture.roots[1],
        &fixture.genesis_root,
        &fixture.registry,
    ));
}

#[test]
fn segment_statements_are_what_the_blocks_chain_to() {
    let fixture = fixture();
    let root = fixture.roots[1].statement().unwrap();
    let blocks: Vec<_> = fixture.blocks[1..3].iter().map(|proof| proof.statement().unwrap()).collect();
    let expected = SegmentStatement {
        first_block: 2,
        last_block: 3,
        from_root: blocks[0].prev_state_root,
        to_root: blocks[1].state_root,
        tx_chain_before: Digest::ZERO,
        tx_chain_after: blocks
            .iter()
            .fold(Digest::ZERO, |link, s| chain_batch_tx(&link, s.number, &s.tx_commitment)),
        l1_cursor_before: 1,
        l1_cursor_after: 2,
        l1_chain_before: blocks[0].l1_chain_before,
        l1_chain_after: blocks[1].l1_chain_after,
        withdrawal_chain_before: blocks[0].withdrawal_chain_before,
        withdrawal_chain_after: blocks[1].withdrawal_chain_after,
        codes: [fixture.circuits.digests().blocks[0].1, Digest::ZERO, Digest::ZERO],
    };
    assert_eq!(root, expected);
}
