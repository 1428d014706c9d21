//! JSON-RPC 2.0: errors with stable codes, the method registry and request dispatch.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::{join_all, LocalBoxFuture};
use futures_util::FutureExt;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;
/// The role that serves the method is not available (starting, restarting, stopped).
pub const ROLE_UNAVAILABLE: i64 = -32001;

/// A JSON-RPC error object. Codes are stable: clients may match on them.
#[derive(Clone, Debug, PartialEq, Serialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    /// The error code.
    pub code: i64,
    /// A lower-case description naming the offending value.
    pub message: String,
    /// Structured detail, when there is some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    /// [`PARSE_ERROR`].
    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        Self::new(PARSE_ERROR, format!("parse error: {detail}"))
    }

    /// [`INVALID_REQUEST`].
    pub fn invalid_request(detail: impl std::fmt::Display) -> Self {
        Self::new(INVALID_REQUEST, format!("invalid request: {detail}"))
    }

    /// [`METHOD_NOT_FOUND`].
    pub fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("method not found: {method}"))
    }

    /// [`INVALID_PARAMS`].
    pub fn invalid_params(detail: impl std::fmt::Display) -> Self {
        Self::new(INVALID_PARAMS, format!("invalid params: {detail}"))
    }

    /// [`INTERNAL_ERROR`].
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(INTERNAL_ERROR, format!("internal error: {detail}"))
    }

    /// Attaches structured detail.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl From<rollup_actors::CallError> for RpcError {
    fn from(error: rollup_actors::CallError) -> Self {
        Self::new(ROLE_UNAVAILABLE, error.to_string())
    }
}

/// The `params` member of a call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(Option<Value>);

impl Params {
    /// Params as received (`None` when the member was absent).
    pub fn new(value: Option<Value>) -> Self {
        Self(value)
    }

    /// Reads the params as `T`: an array reads as a tuple or sequence, an object as a struct.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, RpcError> {
        let value = self.0.unwrap_or(Value::Array(Vec::new()));
        serde_json::from_value(value).map_err(RpcError::invalid_params)
    }

    /// Accepts only absent or empty params.
    pub fn none(self) -> Result<(), RpcError> {
        match self.0 {
            None => Ok(()),
            Some(Value::Array(items)) if items.is_empty() => Ok(()),
            Some(Value::Object(fields)) if fields.is_empty() => Ok(()),
            Some(_) => Err(RpcError::invalid_params("this method takes no parameters")),
        }
    }
}

type Method = Arc<dyn Fn(Params) -> LocalBoxFuture<'static, Result<Value, RpcError>> + Send + Sync>;

/// The methods a node serves, by name.
#[derive(Clone, Default)]
pub struct Methods {
    methods: BTreeMap<&'static str, Method>,
}

impl std::fmt::Debug for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.methods.keys()).finish()
    }
}

impl Methods {
    /// No methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name`; `handler` gets the call's params. A later registration of the
    /// same name replaces the earlier one.
    pub fn register<F, Fut, T>(&mut self, name: &'static str, handler: F)
    where
        F: Fn(Params) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, RpcError>> + 'static,
        T: Serialize,
    {
        let method: Method = Arc::new(move |params| {
            let call = handler(params);
            async move {
                let result = call.await?;
                serde_json::to_value(result).map_err(RpcError::internal)
            }
            .boxed_local()
        });
        self.methods.insert(name, method);
    }

    /// Registered method names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.methods.keys().copied().collect()
    }

    fn get(&self, name: &str) -> Option<(&'static str, &Method)> {
        self.methods.get_key_value(name).map(|(name, method)| (*name, method))
    }
}

/// Metrics of the JSON-RPC endpoint.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    requests: IntCounterVec,
    seconds: HistogramVec,
}

impl RpcMetrics {
    /// Registers `rollup_rpc_requests_total{method,outcome}` and
    /// `rollup_rpc_request_duration_seconds{method}` in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "rollup_rpc_requests_total",
                "JSON-RPC calls by method and outcome (ok or the error code).",
            ),
            &["method", "outcome"],
        )?;
        let seconds = HistogramVec::new(
            HistogramOpts::new("rollup_rpc_request_duration_seconds", "Time to answer a JSON-RPC call."),
            &["method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        Ok(Self { requests, seconds })
    }

    fn record(&self, method: &str, outcome: &Result<Value, RpcError>, started: Instant) {
        let outcome = match outcome {
            Ok(_) => "ok".to_owned(),
            Err(error) => error.code.to_string(),
        };
        self.requests.with_label_values(&[method, &outcome]).inc();
        self.seconds.with_label_values(&[method]).observe(started.elapsed().as_secs_f64());
    }
}

/// Answers a request body: a single call, a batch, or garbage. `None` means no response
/// is due (the body held only notifications).
pub(crate) async fn dispatch(
    body: &[u8],
    methods: &Methods,
    max_batch_len: usize,
    metrics: &RpcMetrics,
) -> Option<Value> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return Some(error_response(Value::Null, RpcError::parse_error(error))),
    };
    match request {
        Value::Array(calls) if calls.is_empty() => {
            Some(error_response(Value::Null, RpcError::invalid_request("empty batch")))
        }
        Value::Array(calls) if calls.len() > max_batch_len => Some(error_response(
            Value::Null,
            RpcError::invalid_request(format!(
                "batch of {} calls exceeds the limit of {max_batch_len}",
                calls.len()
            )),
        )),
        Value::Array(calls) => {
            let responses: Vec<Value> =
                join_all(calls.into_iter().map(|call| answer(call, methods, metrics)))
                    .await
                    .into_iter()
                    .flatten()
                    .collect();
            (!responses.is_empty()).then_some(Value::Array(responses))
        }
        call => answer(call, methods, metrics).await,
    }
}

/// Answers one call; `None` for a valid notification.
async fn answer(call: Value, methods: &Methods, metrics: &RpcMetrics) -> Option<Value> {
    let Value::Object(mut call) = call else {
        return Some(error_response(Value::Null, RpcError::invalid_request("a call must be a JSON object")));
    };
    let id = call.remove("id");
    if let Some(id) = &id {
        if !(id.is_string() || id.is_number() || id.is_null()) {
            return Some(error_response(
                Value::Null,
                RpcError::invalid_request("id must be a string, number or null"),
            ));
        }
    }
    let reply_id = id.clone().unwrap_or(Value::Null);
    if call.get("jsonrpc") != Some(&Value::String("2.0".to_owned())) {
        return Some(error_response(reply_id, RpcError::invalid_request("jsonrpc must be \"2.0\"")));
    }
    let Some(Value::String(name)) = call.remove("method") else {
        return Some(error_response(reply_id, RpcError::invalid_request("method must be a string")));
    };
    let params = match call.remove("params") {
        None => None,
        Some(params @ (Value::Array(_) | Value::Object(_))) => Some(params),
        Some(_) => {
            return Some(error_response(
                reply_id,
                RpcError::invalid_request("params must be an array or an object"),
            ))
        }
    };

    let started = Instant::now();
    let (label, outcome) = match methods.get(&name) {
        None => ("unknown", Err(RpcError::method_not_found(&name))),
        Some((label, method)) => {
            let outcome =
                AssertUnwindSafe(method(Params::new(params))).catch_unwind().await.unwrap_or_else(|_| {
                    tracing::error!(target: "rollup::rpc", method = label, "method handler panicked");
                    Err(RpcError::internal("the method failed unexpectedly"))
                });
            (label, outcome)
        }
    };
    metrics.record(label, &outcome, started);
    if let Err(error) = &outcome {
        tracing::debug!(target: "rollup::rpc", method = label, code = error.code, message = %error.message, "call failed");
    }
    // A notification (no id member) gets no response, even when it failed.
    id.as_ref()?;
    Some(match outcome {
        Ok(result) => {
            let mut response = Map::new();
            response.insert("jsonrpc".to_owned(), json!("2.0"));
            response.insert("result".to_owned(), result);
            response.insert("id".to_owned(), reply_id);
            Value::Object(response)
        }
        Err(error) => error_response(reply_id, error),
    })
}

pub(crate) fn error_response(id: Value, error: RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "error": error, "id": id })
}
