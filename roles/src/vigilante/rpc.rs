//! The vigilante's requests and its JSON-RPC methods.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_getDaSync` | `[]` | `{next_batch, head_number, head_hash, state_root, l1_height, batches: [{number, da_commitment, first_block, last_block}], last_error}`: the chain as rebuilt from Bitcoin |

use rollup_actors::{Handles, Request, Sender};
use rollup_rpc::{Methods, Params};

use super::component::{DaSyncStatus, VigilanteComponent};

/// Read the DA sync status.
#[derive(Debug)]
pub struct GetDaSync;
impl Request for GetDaSync {
    type Response = DaSyncStatus;
}
impl Handles<GetDaSync> for VigilanteComponent {
    fn handle(&mut self, _: GetDaSync) -> DaSyncStatus {
        self.status()
    }
}

/// Senders to the vigilante.
#[derive(Clone, Debug)]
pub struct VigilanteSenders {
    /// [`GetDaSync`].
    pub sync: Sender<GetDaSync>,
}

/// Registers the vigilante's methods.
pub fn register(methods: &mut Methods, senders: &VigilanteSenders) {
    let sync = senders.sync.clone();
    methods.register("rollup_getDaSync", move |params: Params| {
        let sync = sync.clone();
        async move {
            params.none()?;
            Ok(sync.call(GetDaSync).await?)
        }
    });
}
