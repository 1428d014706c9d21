//! The devnet's own wallet: one taproot key (key path) that receives the mined
//! coinbases and pays faucet requests.

use std::path::Path;

use bitcoin::key::{Keypair, TapTweak, TweakedKeypair};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache};
use bitcoin::{
    absolute, transaction, Address, Amount, KnownHrp, Network, OutPoint, PrivateKey, ScriptBuf, Sequence,
    TapSighashType, Transaction, TxIn, TxOut, Witness, XOnlyPublicKey,
};

/// Fee rate of wallet transactions, in satoshis per virtual byte.
pub const WALLET_FEE_RATE: u64 = 2;

/// Why the wallet could not pay.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The key file could not be read or written.
    #[error("wallet key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file does not hold a valid key.
    #[error("wallet key file {0} does not hold a valid key")]
    BadKey(String),
    /// Not enough mature coins.
    #[error("insufficient funds: need {needed}, have {available} spendable")]
    InsufficientFunds {
        /// Amount plus fee.
        needed: Amount,
        /// What the wallet can spend now.
        available: Amount,
    },
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A single-key taproot wallet.
#[derive(Clone)]
pub struct Wallet {
    keypair: Keypair,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").field("address", &self.address().to_string()).finish_non_exhaustive()
    }
}

impl Wallet {
    /// Loads the key in `path`, creating a random one (file mode 0600) if there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, WalletError> {
        let io_error = |source| WalletError::KeyFile { path: path.display().to_string(), source };
        let secp = Secp256k1::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key: SecretKey =
                    text.trim().parse().map_err(|_| WalletError::BadKey(path.display().to_string()))?;
                Ok(Self { keypair: Keypair::from_secret_key(&secp, &key) })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let keypair = Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng());
                write_private(path, &keypair.secret_key().display_secret().to_string()).map_err(io_error)?;
                Ok(Self { keypair })
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// A wallet for a fresh random key (not stored).
    pub fn random() -> Self {
        let secp = Secp256k1::new();
        Self { keypair: Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng()) }
    }

    /// The internal (untweaked) public key.
    pub fn internal_key(&self) -> XOnlyPublicKey {
        self.keypair.x_only_public_key().0
    }

    /// The regtest P2TR address.
    pub fn address(&self) -> Address {
        let secp = Secp256k1::verification_only();
        Address::p2tr(&secp, self.internal_key(), None, KnownHrp::Regtest)
    }

    /// The output script the wallet receives on.
    pub fn script_pubkey(&self) -> ScriptBuf {
        self.address().script_pubkey()
    }

    /// The key in wallet import format, for the user.
    pub fn wif(&self) -> String {
        PrivateKey::new(self.keypair.secret_key(), Network::Regtest).to_wif()
    }

    /// A transaction paying `amount` to `to` from `coins` (largest first), with change
    /// back to the wallet. `coins` must be the wallet's spendable outputs.
    pub fn pay(
        &self,
        coins: &[(OutPoint, TxOut)],
        to: ScriptBuf,
        amount: Amount,
    ) -> Result<Transaction, WalletError> {
        let mut sorted: Vec<&(OutPoint, TxOut)> = coins.iter().collect();
        sorted.sort_by_key(|(_, output)| std::cmp::Reverse(output.value));
        let available: Amount = sorted.iter().map(|(_, output)| output.value).sum();
        let mut chosen: Vec<(OutPoint, TxOut)> = Vec::new();
        let mut total = Amount::ZERO;
        let mut fee = estimate_fee(1, 2);
        for (outpoint, output) in sorted {
            if total >= amount + fee {
                break;
            }
            chosen.push((*outpoint, output.clone()));
            total += output.value;
            fee = estimate_fee(chosen.len(), 2);
        }
        let needed = amount + fee;
        if total < needed {
            return Err(WalletError::InsufficientFunds { needed, available });
        }
        let mut output = vec![TxOut { value: amount, script_pubkey: to }];
        let change = total - needed;
        if change > Amount::from_sat(1_000) {
            output.push(TxOut { value: change, script_pubkey: self.script_pubkey() });
        }
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: chosen
                .iter()
                .map(|(outpoint, _)| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output,
        };
        let spent: Vec<TxOut> = chosen.into_iter().map(|(_, output)| output).collect();
        self.sign_key_path(&mut tx, &spent)?;
        Ok(tx)
    }

    /// Signs every input of `tx` (all spending this wallet's key path) with
    /// `SIGHASH_DEFAULT`; `spent` are the outputs spent, in input order.
    pub fn sign_key_path(&self, tx: &mut Transaction, spent: &[TxOut]) -> Result<(), WalletError> {
        let secp = Secp256k1::new();
        let tweaked: TweakedKeypair = self.keypair.tap_tweak(&secp, None);
        let mut signatures = Vec::with_capacity(tx.input.len());
        {
            let mut cache = SighashCache::new(&*tx);
            for index in 0..spent.len() {
                let sighash = cache
                    .taproot_key_spend_signature_hash(index, &Prevouts::All(spent), TapSighashType::Default)
                    .map_err(|error| WalletError::Sign(error.to_string()))?;
                let message = Message::from_digest(sighash.to_raw_hash().to_byte_array());
                signatures.push(secp.sign_schnorr(&message, &tweaked.to_keypair()));
            }
        }
        for (input, signature) in tx.input.iter_mut().zip(signatures) {
            input.witness = Witness::from_slice(&[signature.as_ref()]);
        }
        Ok(())
    }
}

use bitcoin::hashes::Hash as _;

/// Fee for a key-path-only transaction with `inputs` inputs and `outputs` P2TR outputs.
fn estimate_fee(inputs: usize, outputs: usize) -> Amount {
    // 10.5 vB overhead, 57.5 vB per key-path input, 43 vB per P2TR output, rounded up.
    let vsize = (21 + inputs as u64 * 115 + outputs as u64 * 86).div_ceil(2);
    Amount::from_sat(vsize * WALLET_FEE_RATE)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
