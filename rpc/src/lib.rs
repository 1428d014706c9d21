//! The node's HTTP interface.
//!
//! One actix-web server ([`start`]) serves JSON-RPC 2.0 on `POST /` (single calls,
//! batches and notifications, with the standard error codes: parse error, invalid
//! request, method not found, invalid params, internal error), `GET /health`
//! (liveness), `GET /ready` (not shutting down and every role that does work
//! loaded, roles that are not implemented never counting; 503 otherwise, with each
//! role's status) and `GET /metrics` (Prometheus text format). Roles and the node register
//! their methods in a [`Methods`] registry; handlers read their [`Params`] and answer
//! with a value or an [`RpcError`] whose code is stable. Request bodies over the
//! configured size get HTTP 413, and a handler that panics yields an internal error,
//! never a dropped connection.

mod jsonrpc;
mod server;

pub use jsonrpc::{
    Methods, Params, RpcError, RpcMetrics, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND,
    PARSE_ERROR, ROLE_UNAVAILABLE,
};
pub use server::{start, ApiConfig, ApiServer, StartApiError};
