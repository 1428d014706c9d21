//! The controller's requests and its JSON-RPC methods.
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_getBatch` | `[n]` | the batch record `{number, first_block, last_block, blocks, blob_bytes, first_timestamp_ms, last_timestamp_ms}`, or null while batch `n` is not closed |
//! | `rollup_getBatchCount` | `[]` | the number of closed batches |

use rollup_actors::{Handles, Request, Sender};
use rollup_rpc::{Methods, Params, RpcError};

use super::component::ControllerComponent;
use super::tables::BatchRecord;

/// Read a closed batch.
#[derive(Debug)]
pub struct GetBatch(pub u64);
impl Request for GetBatch {
    type Response = Result<Option<BatchRecord>, String>;
}
impl Handles<GetBatch> for ControllerComponent {
    fn handle(&mut self, GetBatch(number): GetBatch) -> Result<Option<BatchRecord>, String> {
        self.batch(number).map_err(|error| error.to_string())
    }
}

/// Read the number of closed batches.
#[derive(Debug)]
pub struct GetBatchCount;
impl Request for GetBatchCount {
    type Response = Result<u64, String>;
}
impl Handles<GetBatchCount> for ControllerComponent {
    fn handle(&mut self, _: GetBatchCount) -> Result<u64, String> {
        self.batch_count().map_err(|error| error.to_string())
    }
}

/// Senders to the controller.
#[derive(Clone, Debug)]
pub struct ControllerSenders {
    /// [`GetBatch`].
    pub batch: Sender<GetBatch>,
    /// [`GetBatchCount`].
    pub count: Sender<GetBatchCount>,
}

/// Registers the controller's methods.
pub fn register(methods: &mut Methods, senders: &ControllerSenders) {
    let batch = senders.batch.clone();
    methods.register("rollup_getBatch", move |params: Params| {
        let batch = batch.clone();
        async move {
            let (number,): (u64,) = params.parse()?;
            batch.call(GetBatch(number)).await?.map_err(RpcError::internal)
        }
    });
    let count = senders.count.clone();
    methods.register("rollup_getBatchCount", move |params: Params| {
        let count = count.clone();
        async move {
            params.none()?;
            count.call(GetBatchCount).await?.map_err(RpcError::internal)
        }
    });
}
