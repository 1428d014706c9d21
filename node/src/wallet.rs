//! `rollup wallet`: an L2 key in a file, and transfers, withdrawals and queries through
//! a node's JSON-RPC.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use rollup_l2::ecgfp5::{PublicKey, SecretKey};
use rollup_l2::{
    hex, pubkey_from, pubkey_of, sign, Encode, PubKey, SignedTx, Transfer, UserTx, Withdraw, DEVNET_USER_SEED,
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
    Send {
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
    },
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
    /// List the transactions of the account in the last blocks.
    History {
        /// How many recent blocks to scan.
        #[arg(long, default_value_t = 1_000)]
        blocks: u64,
    },
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
        WalletCommand::Send { to, to_pubkey, amount, fee } => {
            let key = load_key(&args.wallet)?;
            let to_pubkey = PublicKey::from_bytes(&unhex(&to_pubkey, "--to-pubkey")?)
                .map_err(|error| anyhow!("--to-pubkey is not a public key: {error}"))?;
            let to_pubkey = pubkey_from(&to_pubkey);
            let (from, _, nonce) = node.own_account(&pubkey_of(&key))?;
            let tx = UserTx::Transfer(Transfer { from, to, to_pubkey, amount, fee, nonce: nonce + 1 });
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
