//! The HTTP API server over real sockets: JSON-RPC framing and error codes, body limits,
//! health, readiness and metrics.

// Helpers outside #[test] functions fail the test by panicking, like the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::mpsc;

use rollup_actors::{RoleStatus, Telemetry};
use rollup_rpc::{start, ApiConfig, Methods, RpcError};
use serde_json::{json, Value};

struct Server {
    url: String,
    telemetry: Telemetry,
}

fn serve(max_body_bytes: usize) -> Server {
    let (sender, receiver) = mpsc::channel();
    let telemetry = Telemetry::new().unwrap();
    let server_telemetry = telemetry.clone();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let mut methods = Methods::new();
            methods.register("echo", |params| async move { params.parse::<(u64, String)>() });
            methods.register("boom", |_| async move {
                if true {
                    panic!("handler bug");
                }
                Ok::<_, RpcError>(0)
            });
            methods.register("nothing", |params| async move { params.none().map(|()| "none") });
            let config = ApiConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                max_body_bytes,
                max_batch_len: 3,
                workers: 1,
            };
            let api = start(&config, methods, server_telemetry).unwrap();
            sender.send(api.local_addr).unwrap();
            api.server.await.unwrap();
        });
    });
    let addr = receiver.recv().unwrap();
    Server { url: format!("http://{addr}"), telemetry }
}

/// Status code and body of a POST.
fn post(server: &Server, body: &str) -> (u16, String) {
    let response =
        ureq::post(&format!("{}/", server.url)).set("content-type", "application/json").send_string(body);
    read(response)
}

fn get(server: &Server, path: &str) -> (u16, String) {
    read(ureq::get(&format!("{}{path}", server.url)).call())
}

fn read(response: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match response {
        Ok(response) => (response.status(), response.into_string().unwrap()),
        Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
        Err(error) => panic!("transport error: {error}"),
    }
}

fn rpc(server: &Server, body: &str) -> Value {
    let (status, text) = post(server, body);
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "error": { "code": code, "message": message }, "id": id })
}

#[test]
fn calls_are_answered_with_their_id() {
    let server = serve(4096);
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"echo","params":[7,"x"],"id":"a"}"#),
        json!({ "jsonrpc": "2.0", "result": [7, "x"], "id": "a" })
    );
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"nothing","id":null}"#),
        json!({ "jsonrpc": "2.0", "result": "none", "id": null })
    );
}

#[test]
fn malformed_json_is_a_parse_error() {
    let server = serve(4096);
    let response = rpc(&server, r#"{"jsonrpc":"2.0","method":"echo""#);
    assert_eq!(response["error"]["code"], -32700);
    assert_eq!(response["id"], Value::Null);
    assert!(response["error"]["message"].as_str().unwrap().starts_with("parse error: "), "{response}");
}

#[test]
fn malformed_calls_are_invalid_requests() {
    let server = serve(4096);
    let cases = [
        ("42", Value::Null, "invalid request: a call must be a JSON object"),
        (r#"{"jsonrpc":"1.0","method":"echo","id":1}"#, json!(1), "invalid request: jsonrpc must be \"2.0\""),
        (r#"{"method":"echo","id":2}"#, json!(2), "invalid request: jsonrpc must be \"2.0\""),
        (r#"{"jsonrpc":"2.0","id":3}"#, json!(3), "invalid request: method must be a string"),
        (r#"{"jsonrpc":"2.0","method":5,"id":4}"#, json!(4), "invalid request: method must be a string"),
        (
            r#"{"jsonrpc":"2.0","method":"echo","params":"x","id":5}"#,
            json!(5),
            "invalid request: params must be an array or an object",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"echo","id":{}}"#,
            Value::Null,
            "invalid request: id must be a string, number or null",
        ),
        ("[]", Value::Null, "invalid request: empty batch"),
    ];
    for (body, id, message) in cases {
        assert_eq!(rpc(&server, body), error(id, -32600, message), "{body}");
    }
}

#[test]
fn unknown_methods_and_bad_params_have_their_codes() {
    let server = serve(4096);
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"rollup_nope","id":1}"#),
        error(json!(1), -32601, "method not found: rollup_nope")
    );
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"echo","params":["x","y"],"id":2}"#),
        error(json!(2), -32602, "invalid params: invalid type: string \"x\", expected u64")
    );
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"echo","id":3}"#),
        error(json!(3), -32602, "invalid params: invalid length 0, expected a tuple of size 2")
    );
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"nothing","params":[1],"id":4}"#),
        error(json!(4), -32602, "invalid params: this method takes no parameters")
    );
}

#[test]
fn batches_answer_every_call_but_notifications() {
    let server = serve(4096);
    let response = rpc(
        &server,
        r#"[{"jsonrpc":"2.0","method":"echo","params":[1,"a"],"id":1},
            {"jsonrpc":"2.0","method":"echo","params":[2,"b"]},
            {"jsonrpc":"2.0","method":"nope","id":3}]"#,
    );
    assert_eq!(
        response,
        json!([
            { "jsonrpc": "2.0", "result": [1, "a"], "id": 1 },
            { "jsonrpc": "2.0", "error": { "code": -32601, "message": "method not found: nope" }, "id": 3 },
        ])
    );
    let too_many = format!("[{}]", [r#"{"jsonrpc":"2.0","method":"nothing","id":1}"#; 4].join(","));
    assert_eq!(
        rpc(&server, &too_many),
        error(Value::Null, -32600, "invalid request: batch of 4 calls exceeds the limit of 3")
    );
}

#[test]
fn notifications_alone_get_no_content() {
    let server = serve(4096);
    assert_eq!(post(&server, r#"{"jsonrpc":"2.0","method":"echo","params":[1,"a"]}"#), (204, String::new()));
    assert_eq!(post(&server, r#"[{"jsonrpc":"2.0","method":"nope"}]"#), (204, String::new()));
}

#[test]
fn oversize_bodies_are_refused_with_413() {
    let server = serve(1024);
    let body = format!(r#"{{"jsonrpc":"2.0","method":"echo","params":[1,"{}"],"id":1}}"#, "x".repeat(2000));
    let (status, text) = post(&server, &body);
    assert_eq!(status, 413);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        error(Value::Null, -32600, "invalid request: request body exceeds 1024 bytes")
    );
    // The server keeps serving.
    assert_eq!(rpc(&server, r#"{"jsonrpc":"2.0","method":"nothing","id":1}"#)["result"], "none");
}

#[test]
fn a_panicking_handler_is_an_internal_error_not_a_crash() {
    let server = serve(4096);
    assert_eq!(
        rpc(&server, r#"{"jsonrpc":"2.0","method":"boom","id":9}"#),
        error(json!(9), -32603, "internal error: the method failed unexpectedly")
    );
    assert_eq!(rpc(&server, r#"{"jsonrpc":"2.0","method":"nothing","id":1}"#)["result"], "none");
}

#[test]
fn health_ready_and_metrics() {
    let server = serve(4096);
    let (status, body) = get(&server, "/health");
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({ "status": "ok" })));

    let (status, body) = get(&server, "/ready");
    assert_eq!(status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "ready": false, "shutting_down": false, "roles": {} })
    );

    server.telemetry.health.set("sequencer", RoleStatus::Ready);
    server.telemetry.health.set("prover", RoleStatus::Restarting { failures: 1, retry_in_ms: 10 });
    let (status, body) = get(&server, "/ready");
    assert_eq!(status, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "ready": false, "shutting_down": false, "roles": { "prover": "restarting", "sequencer": "ready" } })
    );
    server.telemetry.health.set("prover", RoleStatus::Ready);
    assert_eq!(get(&server, "/ready").0, 200);
    server.telemetry.health.begin_shutdown();
    assert_eq!(get(&server, "/ready").0, 503);

    rpc(&server, r#"{"jsonrpc":"2.0","method":"nothing","id":1}"#);
    rpc(&server, r#"{"jsonrpc":"2.0","method":"what","id":1}"#);
    let (status, text) = get(&server, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("rollup_rpc_requests_total{method=\"nothing\",outcome=\"ok\"} 1\n"), "{text}");
    assert!(text.contains("rollup_rpc_requests_total{method=\"unknown\",outcome=\"-32601\"} 1\n"), "{text}");
    assert!(text.contains("# TYPE rollup_rpc_request_duration_seconds histogram"), "{text}");

    assert_eq!(get(&server, "/nowhere").0, 404);
}
