//! The proof-system trait every stage implements (after arkworks' `SNARK`): a
//! circuit is set up once, proves witnesses into proofs of a public statement, and
//! verifies a proof against the statement its verifier expects.

/// Why setting up, proving or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum ProofSystemError {
    /// The witness does not fit the circuit (too many transactions for its capacity,
    /// a malformed Merkle proof, ...).
    #[error("the witness does not fit the circuit: {0}")]
    Witness(String),
    /// The prover failed: the witness does not satisfy the circuit's constraints.
    #[error("proving failed: {0}")]
    Prove(String),
    /// The proof does not verify.
    #[error("the proof does not verify: {0}")]
    Verify(String),
    /// The proof verifies but proves another statement than the one expected.
    #[error("the proof is for another statement: {field} is {found}, expected {expected}")]
    StatementMismatch {
        /// The first public input that differs.
        field: &'static str,
        /// Its value in the proof.
        found: String,
        /// The expected value.
        expected: String,
    },
    /// Proof bytes that do not decode.
    #[error("malformed proof: {0}")]
    Decode(String),
}

/// A proof system for one circuit: prove a witness, verify a proof of a statement.
pub trait ProofSystem {
    /// What the circuit is built for (for the block circuit: its capacity and the
    /// chain parameters).
    type Parameters;
    /// The public statement a proof establishes.
    type Statement;
    /// The private inputs.
    type Witness;
    /// A proof, carrying its statement.
    type Proof;

    /// Builds the circuit and its proving and verifying keys.
    fn setup(parameters: Self::Parameters) -> Result<Self, ProofSystemError>
    where
        Self: Sized;

    /// Proves `witness`; the proof carries the statement it establishes.
    fn prove(&self, witness: &Self::Witness) -> Result<Self::Proof, ProofSystemError>;

    /// Checks that `proof` verifies and establishes exactly `statement`.
    fn verify(&self, statement: &Self::Statement, proof: &Self::Proof) -> Result<(), ProofSystemError>;
}

/// The message of a caught panic (plonky2 asserts where it could return errors).
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the prover panicked".to_string())
}
