//! `rollup wallet`: an L2 key in a file, and transfers, withdrawals and queries through
//! a node's JSON-RPC; deposits and forced transfers posted on Bitcoin through Esplora
//! with a Bitcoin key (L1 messages, `docs/protocol.md`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use rollup_l2::ecgfp5::{PublicKey, SecretKey};
use rollup_l2::{
    encode_forced_payload, hex, pubkey_from, pubkey_of, sign, DepositPayload, Encode, L2Tx, PubKey, SignedTx,
    Transfer, UserTx, Withdraw, DEVNET_USER_SEED,
};
use serde_json::{json, Value};

/// Wallet commands.
#[derive(Debug, Args)]
pub(crate) struct WalletArgs {
    /// The key file (created by `rollup wallet new`, mode 0600).
    #[arg(long, global = true, value_name = "FILE", default_value_os_t = default_wallet())]
    wallet: PathBuf,
    /// JSON-RPC URL of a node running the sequencer.
    #[arg(long, global = true, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    node: String,
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Debug, Subcommand)]
enum WalletCommand {
    /// Create a new key file (refuses to overwrite one).
    New {
        /// Use the development genesis' funded key (account 2) instead of a random one.
        #[arg(long)]
        devnet_user: bool,
    },
    /// Print the public key (80 hex characters) to give to senders.
    Address,
    /// Print the account's index, balance and nonce.
    Balance,
    /// Transfer to an account; waits until the transfer is in a block.
    Send(TransferArgs),
    /// Withdraw to a Bitcoin output script; waits until the withdrawal is in a block.
    Withdraw {
        /// Amount in satoshis.
        #[arg(long)]
        amount: u64,
        /// The Bitcoin output script, hex (e.g. 5120<32-byte key> for P2TR).
        #[arg(long, value_name = "HEX")]
        l1_script: String,
        /// Fee in satoshis.
        #[arg(long, default_value_t = 1)]
        fee: u64,
    },
    /// Deposit from Bitcoin: post a deposit whose reveal pays the bridge AMOUNT
    /// satoshis; the account is credited once the reveal's block is final.
    Deposit {
        /// Amount in satoshis.
        amount: u64,
        /// The account to credit: by default this key's account; a free index
        /// creates the account with this key.
        #[arg(long)]
        to: Option<u32>,
        #[command(flatten)]
        bitcoin: BitcoinArgs,
    },
    /// Force a transfer through Bitcoin (when the sequencer ignores it): post it in
    /// a forced-transaction envelope; it executes once its block is final.
    ForceSend {
        #[command(flatten)]
        transfer: TransferArgs,
        #[command(flatten)]
        bitcoin: BitcoinArgs,
    },
    /// List the transactions of the account in the last blocks.
    History {
        /// How many recent blocks to scan.
        #[arg(long, default_value_t = 1_000)]
        blocks: u64,
    },
}

/// A transfer, as `send` and `force-send` take it.
#[derive(Debug, Args)]
struct TransferArgs {
    /// The receiver's account index.
    #[arg(long)]
    to: u32,
    /// The receiver's public key (from `rollup wallet address`).
    #[arg(long, value_name = "HEX")]
    to_pubkey: String,
    /// Amount in satoshis.
    #[arg(long)]
    amount: u64,
    /// Fee in satoshis.
    #[arg(long, default_value_t = 1)]
    fee: u64,
}

impl TransferArgs {
    /// The transfer from account `from` with its next nonce after `nonce`.
    fn transfer(&self, from: u32, nonce: u32) -> anyhow::Result<UserTx> {
        let to_pubkey = PublicKey::from_bytes(&unhex(&self.to_pubkey, "--to-pubkey")?)
            .map_err(|error| anyhow!("--to-pubkey is not a public key: {error}"))?;
        let next = nonce.checked_add(1).ok_or_else(|| anyhow!("account {from}'s nonce is exhausted"))?;
        Ok(UserTx::Transfer(Transfer {
            from,
            to: self.to,
            to_pubkey: pubkey_from(&to_pubkey),
            amount: self.amount,
            fee: self.fee,
            nonce: next,
        }))
    }
}

/// The Bitcoin side of `deposit` and `force-send`.
#[derive(Debug, Args)]
struct BitcoinArgs {
    /// The Bitcoin key file: a secret key in hex, spent by its BIP-86 key path (as
    /// `rollup devnet` writes `<data_dir>/bitcoin/user.key`).
    #[arg(long, value_name = "FILE")]
    bitcoin_key: PathBuf,
    /// Base URL of the Esplora API.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3002")]
    esplora: String,
    /// Fee rate in satoshis per virtual byte.
    #[arg(long, default_value_t = 2)]
    fee_rate: u64,
}

/// A Bitcoin key with its coins, through Esplora.
struct BitcoinPoster {
    keypair: bitcoin::key::Keypair,
    script: bitcoin::ScriptBuf,
    esplora: esplora_client::BlockingClient,
    fee_rate: bitcoin::FeeRate,
}

impl BitcoinPoster {
    fn open(args: &BitcoinArgs) -> anyhow::Result<Self> {
        let secp = bitcoin::key::Secp256k1::new();
        let text = std::fs::read_to_string(&args.bitcoin_key)
            .with_context(|| format!("cannot read the Bitcoin key {}", args.bitcoin_key.display()))?;
        let secret: bitcoin::secp256k1::SecretKey = text
            .trim()
            .parse()
            .map_err(|_| anyhow!("the Bitcoin key {} is not a hex secret key", args.bitcoin_key.display()))?;
        let keypair = bitcoin::key::Keypair::from_secret_key(&secp, &secret);
        let script = bitcoin::ScriptBuf::new_p2tr(&secp, keypair.x_only_public_key().0, None);
        let esplora =
            esplora_client::Builder::new(args.esplora.trim_end_matches('/')).timeout(30).build_blocking();
        let fee_rate = bitcoin::FeeRate::from_sat_per_vb(args.fee_rate)
            .ok_or_else(|| anyhow!("--fee-rate {} is too high", args.fee_rate))?;
        Ok(Self { keypair, script, esplora, fee_rate })
    }

    /// Every coin of the key, as funding.
    fn coins(&self) -> anyhow::Result<Vec<rollup_l1::da::FundingUtxo>> {
        let utxos = self.esplora.get_scripthash_utxos(&self.script).context("cannot list the key's coins")?;
        if utxos.is_empty() {
            bail!("the Bitcoin key has no coins (its script is {})", self.script.to_hex_string());
        }
        Ok(utxos
            .into_iter()
            .map(|utxo| rollup_l1::da::FundingUtxo {
                outpoint: bitcoin::OutPoint::new(utxo.txid, utxo.vout),
                output: bitcoin::TxOut { value: utxo.value, script_pubkey: self.script.clone() },
            })
            .collect())
    }

    /// Broadcasts the commit, then the reveal; returns the reveal's id.
    fn broadcast(&self, posted: &rollup_l1::da::CommitReveal) -> anyhow::Result<bitcoin::Txid> {
        self.esplora.broadcast(&posted.commit).context("cannot broadcast the commit")?;
        let reveal = posted.reveals.first().ok_or_else(|| anyhow!("no reveal was built"))?;
        self.esplora.broadcast(reveal).context("cannot broadcast the reveal")?;
        Ok(reveal.compute_txid())
    }
}

fn default_wallet() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".rollup").join("wallet.key")
}

fn unhex(text: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    hex::decode(text).ok_or_else(|| anyhow!("{what} is not hex: {text:?}"))
}

fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!("cannot read the wallet {} (create one with `rollup wallet new`)", path.display())
    })?;
    SecretKey::from_bytes(&unhex(&text, "the wallet key")?)
        .map_err(|error| anyhow!("the wallet {} does not hold a valid key: {error}", path.display()))
}

struct Node {
    url: String,
    agent: ureq::Agent,
}

impl Node {
    fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let request = json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": 1 });
        let answer: Value = match self.agent.post(&self.url).send_json(request) {
            Ok(response) => response.into_json().context("the node's answer is not JSON")?,
            Err(ureq::Error::Status(status, response)) => {
                let body = response.into_string().unwrap_or_default();
                bail!("the node answered HTTP {status}: {body}")
            }
            Err(error) => bail!("cannot reach the node at {}: {error}", self.url),
        };
        if let Some(error) = answer.get("error") {
            bail!("{} (code {})", error["message"].as_str().unwrap_or("error"), error["code"]);
        }
        Ok(answer["result"].clone())
    }

    fn own_account(&self, pubkey: &PubKey) -> anyhow::Result<(u32, u64, u32)> {
        let account = self.call("rollup_getAccount", json!([{ "pubkey": pubkey }]))?;
        if account.is_null() {
            bail!("this key has no account yet: receive a transfer or a deposit first");
        }
        let field = |name: &str| {
            account[name].as_u64().ok_or_else(|| anyhow!("malformed account from the node: {account}"))
        };
        Ok((u32::try_from(field("index")?)?, field("balance")?, u32::try_from(field("nonce")?)?))
    }

    fn submit_and_wait(&self, key: &SecretKey, chain_id: u64, tx: UserTx) -> anyhow::Result<Value> {
        let signature = sign(key, &tx.signing_message(chain_id));
        let id =
            self.call("rollup_sendTransaction", json!([hex::encode(&SignedTx { tx, signature }.encode())]))?;
        let id = id.as_str().ok_or_else(|| anyhow!("malformed transaction id from the node"))?.to_owned();
        eprintln!("submitted {id}; waiting for a block");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let receipt = self.call("rollup_getTransactionReceipt", json!([id]))?;
            if !receipt.is_null() {
                return Ok(receipt);
            }
            if Instant::now() > deadline {
                bail!("transaction {id} not in a block after 120 s (it stays pending in the node)");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn chain_id(&self) -> anyhow::Result<u64> {
        self.call("rollup_nodeInfo", json!([]))?["chain_id"]
            .as_u64()
            .ok_or_else(|| anyhow!("the node did not say its chain id"))
    }
}

/// Runs a wallet command.
pub(crate) fn run(args: WalletArgs) -> anyhow::Result<()> {
    let node = Node {
        url: args.node.trim_end_matches('/').to_owned() + "/",
        agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build(),
    };
    match args.command {
        WalletCommand::New { devnet_user } => {
            let key = if devnet_user {
                SecretKey::from_seed(DEVNET_USER_SEED)
            } else {
                let mut seed = [0u8; 32];
                getrandom(&mut seed)?;
                SecretKey::from_seed(&seed)
            };
            if let Some(parent) = args.wallet.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&args.wallet)
                .with_context(|| {
                    format!("cannot create the wallet {} (it must not exist yet)", args.wallet.display())
                })?;
            file.write_all(hex::encode(&key.to_bytes()).as_bytes())?;
            file.sync_all()?;
            println!("wallet {} created", args.wallet.display());
            println!("public key: {}", hex::encode(&key.public_key().to_bytes()));
        }
        WalletCommand::Address => {
            println!("{}", hex::encode(&load_key(&args.wallet)?.public_key().to_bytes()))
        }
        WalletCommand::Balance => {
            let key = load_key(&args.wallet)?;
            let (index, balance, nonce) = node.own_account(&pubkey_of(&key))?;
            println!("account {index}: balance {balance} sat, nonce {nonce}");
        }
        WalletCommand::Send(transfer) => {
            let key = load_key(&args.wallet)?;
            let (from, _, nonce) = node.own_account(&pubkey_of(&key))?;
            let tx = transfer.transfer(from, nonce)?;
            let receipt = node.submit_and_wait(&key, node.chain_id()?, tx)?;
            println!("{}", serde_json::to_string_pretty(&receipt)?);
        }
        WalletCommand::Withdraw { amount, l1_script, fee } => {
            let key = load_key(&args.wallet)?;
            let l1_script = unhex(&l1_script, "--l1-script")?;
            let (from, _, nonce) = node.own_account(&pubkey_of(&key))?;
            let tx = UserTx::Withdraw(Withdraw { from, amount, fee, nonce: nonce + 1, l1_script });
            let receipt = node.submit_and_wait(&key, node.chain_id()?, tx)?;
            println!("{}", serde_json::to_string_pretty(&receipt)?);
        }
        WalletCommand::Deposit { amount, to, bitcoin } => {
            let key = load_key(&args.wallet)?;
            let pubkey = pubkey_of(&key);
            let to = match to {
                Some(to) => to,
                None => {
                    node.own_account(&pubkey)
                        .map_err(|_| {
                            anyhow!(
                            "this key has no account yet: pass --to with a free account index to create it"
                        )
                        })?
                        .0
                }
            };
            let chain_id = node.chain_id()?;
            let bridge = node.call("rollup_getL1Status", json!([]))?["bridge_script"]
                .as_str()
                .and_then(hex::decode)
                .ok_or_else(|| anyhow!("the node did not say its bridge script"))?;
            let poster = BitcoinPoster::open(&bitcoin)?;
            let payload = DepositPayload { to, to_pubkey: pubkey, amount };
            let envelope = rollup_l1::da::Envelope::deposit(chain_id, payload.encode())?;
            let posted = rollup_l1::chain::build_deposit(
                &poster.keypair,
                &envelope,
                &bitcoin::ScriptBuf::from_bytes(bridge),
                bitcoin::Amount::from_sat(amount),
                &poster.coins()?,
                poster.fee_rate,
                &poster.script,
            )?;
            let reveal = poster.broadcast(&posted)?;
            println!("deposit of {amount} sat to account {to} posted in {reveal} (output 0 pays the bridge)");
            println!("it is credited once that transaction's block is final");
        }
        WalletCommand::ForceSend { transfer, bitcoin } => {
            let key = load_key(&args.wallet)?;
            let (from, _, nonce) = node.own_account(&pubkey_of(&key))?;
            let chain_id = node.chain_id()?;
            let tx = transfer.transfer(from, nonce)?;
            let signature = sign(&key, &tx.signing_message(chain_id));
            let signed = SignedTx { tx, signature };
            let id = L2Tx::Forced(signed.clone()).id(chain_id);
            let poster = BitcoinPoster::open(&bitcoin)?;
            let envelope =
                rollup_l1::da::Envelope::forced_transaction(chain_id, encode_forced_payload(&signed))?;
            let posted = rollup_l1::da::build_commit_reveal(
                &poster.keypair,
                &[envelope],
                &poster.coins()?,
                poster.fee_rate,
                &poster.script,
                &poster.script,
            )?;
            let reveal = poster.broadcast(&posted)?;
            println!("forced transfer {id} posted in {reveal}");
            println!(
                "it executes once that transaction's block is final (receipt: rollup_getTransactionReceipt)"
            );
        }
        WalletCommand::History { blocks } => {
            let key = load_key(&args.wallet)?;
            let (index, _, _) = node.own_account(&pubkey_of(&key))?;
            let head = node.call("rollup_getStateRoot", json!([]))?["block_number"].as_u64().unwrap_or(0);
            for number in head.saturating_sub(blocks)..=head {
                let block = node.call("rollup_getBlockByNumber", json!([number]))?;
                for (position, tx) in block["txs"].as_array().into_iter().flatten().enumerate() {
                    let inner = &tx["tx"];
                    let involved = inner["from"] == index || inner["to"] == index || tx["to"] == index;
                    if involved {
                        println!("block {number} #{position}: {}", serde_json::to_string(tx)?);
                    }
                }
            }
        }
    }
    Ok(())
}

/// 32 random bytes from the operating system.
fn getrandom(buffer: &mut [u8]) -> anyhow::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(buffer))
        .context("cannot read /dev/urandom")
}
