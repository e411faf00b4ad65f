//! Drift between the document and the code, in both directions: the route declarations in
//! `shared/src/api/routes/*.rs` (read as text, so a new module is covered without touching this
//! test) against the documented paths, and every documented operation probed through the
//! routers (the local one and each function's).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, header};
use http_body_util::BodyExt;
use mobileid::api::{
    AppState, inbound_sms_router, local_router, sign_certificate_router, start_verification_router,
    verify_code_router,
};
use mobileid::testkit::{HOST, TestApp, TestResponse};
use serde_json::Value;
use tower::ServiceExt;

use super::contract::{Contract, Operation, escape};

/// One `.route("PATH", method(handler)…)` declaration.
#[derive(Debug, Clone)]
struct CodeRoute {
    file: String,
    path: String,
    method: String,
    handler: String,
}

/// Every route declared in `shared/src/api/routes/*.rs`.
fn code_routes() -> Vec<CodeRoute> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/routes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("routes directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut routes = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (path, method, handler) in parse_routes(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
        {
            routes.push(CodeRoute {
                file: name.clone(),
                path,
                method,
                handler,
            });
        }
    }
    assert!(routes.len() >= 20, "the route parser found only {routes:?}");
    routes
}

/// Reads `.route("PATH", get(a).post(b))` calls. Anything it can't read is an error, so a
/// route declared in a new way makes this test fail rather than go unseen.
fn parse_routes(src: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let args = &rest[..closing_paren(rest).ok_or("unbalanced .route(")?];
        let args = args.trim_start();
        let literal = args
            .strip_prefix('"')
            .ok_or_else(|| format!("path is not a literal: {args}"))?;
        let end = literal.find('"').ok_or("unterminated path")?;
        let path = &literal[..end];
        let mut chain = literal[end + 1..]
            .trim_start()
            .strip_prefix(',')
            .ok_or("no method router")?
            .trim();
        while !chain.is_empty() {
            chain = chain.trim_start_matches('.');
            let open = chain
                .find('(')
                .ok_or_else(|| format!("{path}: can't read {chain}"))?;
            let method = chain[..open].trim();
            let close = open + 1 + closing_paren(&chain[open + 1..]).ok_or("unbalanced method")?;
            let handler = chain[open + 1..close].trim();
            if ![
                "get", "post", "put", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method)
            {
                return Err(format!(
                    "{path}: method router {method:?} is not one this test knows"
                ));
            }
            out.push((
                path.to_owned(),
                method.to_ascii_uppercase(),
                handler.to_owned(),
            ));
            chain = chain[close + 1..].trim();
        }
    }
    Ok(out)
}

/// Index of the `)` closing an already opened `(`.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 1;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn the_route_parser_reads_chains_and_refuses_what_it_cannot_read() {
    let src = r#"Router::new().route("/a", get(x)).route("/b/", get(cb).post(cb))"#;
    let routes = parse_routes(src).unwrap();
    assert_eq!(routes.len(), 3);
    assert_eq!(routes[2], ("/b/".into(), "POST".into(), "cb".into()));
    assert!(parse_routes(r#".route(PATH, get(x))"#).is_err());
    assert!(parse_routes(r#".route("/a", any(x))"#).is_err());
}

#[test]
fn every_route_in_the_code_is_documented_and_every_documented_route_is_in_the_code() {
    let contract = Contract::from_source();
    let documented = contract.operations_with_aliases();
    let coded: BTreeSet<Operation> = code_routes()
        .into_iter()
        .map(|r| Operation {
            path: r.path,
            method: r.method,
        })
        .collect();
    let undocumented: Vec<_> = coded.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&coded).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without a description: {undocumented:?}\ndescribed operations without a route: {unrouted:?}"
    );
}

#[test]
fn each_alias_runs_the_handler_of_its_route() {
    let contract = Contract::from_source();
    let handlers: BTreeMap<(String, String), (String, String)> = code_routes()
        .into_iter()
        .map(|r| ((r.path, r.method), (r.file, r.handler)))
        .collect();
    let aliases = contract.aliases();
    assert!(!aliases.is_empty());
    for (alias, target) in aliases {
        assert!(
            contract.doc["paths"].get(&target).is_some(),
            "alias {alias} → undocumented {target}"
        );
        assert!(
            contract.doc["paths"].get(&alias).is_none(),
            "{alias} is both a path and an alias"
        );
        for op in contract
            .operations()
            .into_iter()
            .filter(|o| o.path == target)
        {
            let of = |p: &str| handlers.get(&(p.to_owned(), op.method.clone())).cloned();
            assert_eq!(
                of(&alias),
                of(&target),
                "{} {alias} and {target} run different handlers",
                op.method
            );
        }
    }
}

/// How a function's router is made.
type MakeRouter = fn(AppState) -> Router;

/// A request that reaches the route: a JSON `{}` body for the methods that carry one.
fn probe_request(method: &str, path: &str) -> Request<Body> {
    let concrete = path.replace(['{', '}'], "");
    let builder = Request::builder()
        .method(method)
        .uri(&concrete)
        .header(header::HOST, HOST);
    if method == "GET" || method == "HEAD" {
        builder.body(Body::empty())
    } else {
        builder
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, 2)
            .body(Body::from("{}"))
    }
    .unwrap()
}

async fn call(router: &Router, request: Request<Body>) -> TestResponse {
    let res = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = res.into_parts();
    TestResponse {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

/// The routers' own "no such route" (404/999) and "not with this method" (405/999).
fn is_unrouted(res: &TestResponse) -> bool {
    let generic = res.errno() == Some(999);
    (res.status == 404 && generic && res.json()["message"] == "No such route.") || res.status == 405
}

#[tokio::test]
async fn every_documented_operation_and_alias_is_routed_by_the_local_server() {
    let app = TestApp::new().await;
    let contract = Contract::from_source();
    let mut unrouted = Vec::new();
    for op in contract.operations_with_aliases() {
        let res = app.call(probe_request(&op.method, &op.path)).await;
        if is_unrouted(&res) {
            unrouted.push(format!(
                "{} {} → {} {}",
                op.method,
                op.path,
                res.status,
                res.json()
            ));
        }
    }
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:#?}"
    );
}

#[tokio::test]
async fn each_function_serves_exactly_the_paths_the_document_gives_it() {
    let app = TestApp::new().await;
    let contract = Contract::from_source();
    let functions: [(&str, MakeRouter); 5] = [
        ("start-verification", start_verification_router),
        ("inbound-sms", inbound_sms_router),
        ("verify-code", verify_code_router),
        ("sign-certificate", sign_certificate_router),
        ("local", local_router),
    ];
    let mut wrong = Vec::new();
    for (function, make) in functions {
        let router = make(app.state.clone());
        for op in contract.operations_with_aliases() {
            let owner = contract
                .function_of(&op.path)
                .unwrap_or_else(|| panic!("{} has no x-function", op.path));
            // The local server serves everything; `local` paths are served by it alone.
            let expected = function == "local" || owner == function;
            let res = call(&router, probe_request(&op.method, &op.path)).await;
            if is_unrouted(&res) == expected {
                wrong.push(format!(
                    "{function}: {} {} (x-function {owner}) → {}",
                    op.method, op.path, res.status
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "functions and x-function disagree: {wrong:#?}"
    );
}

#[tokio::test]
async fn other_paths_and_methods_answer_the_documented_json_404_and_405() {
    let app = TestApp::new().await;
    let contract = Contract::from_source();
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/v1/msisdn"),
        ("GET", "/sms/momt"),
        ("DELETE", "/v1/msisdn/discover"),
        ("GET", "/v1/msisdn/register"),
        ("PUT", "/.well-known/jwks.json"),
        ("POST", "/__heartbeat__"),
    ] {
        let res = app.call(probe_request(method, path)).await;
        assert!(
            matches!(res.status.as_u16(), 404 | 405),
            "{method} {path} → {}",
            res.status
        );
        contract.check(method, path, &res).unwrap();
    }
}

#[test]
fn the_document_is_consistent() {
    let contract = Contract::from_source();
    let doc = &contract.doc;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"]["version"],
        env!("CARGO_PKG_VERSION"),
        "info.version follows the crate"
    );

    let mut ids = BTreeSet::new();
    for op in contract.operations() {
        let item = &doc["paths"][&op.path][op.method.to_ascii_lowercase()];
        let id = item["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{op:?} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(
            item["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{op:?} has no responses"
        );
    }

    // Every $ref points at something.
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    assert!(refs.len() > 50);
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The errno values of `shared/src/error.rs`, read from its `Name = NNN,` lines.
fn errnos_in_code() -> BTreeSet<u64> {
    include_str!("../../src/error.rs")
        .lines()
        .filter_map(|l| {
            l.trim()
                .split_once(" = ")
                .map(|(_, n)| n.trim_end_matches(','))
        })
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn error_responses_say_their_status_and_use_the_errno_table() {
    let contract = Contract::from_source();
    let doc = &contract.doc;
    let table: BTreeSet<u64> = doc["components"]["schemas"]["Error"]["properties"]["errno"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(
        table,
        errnos_in_code(),
        "the Error schema's errno list and enum Errno differ"
    );

    let mut checked = 0;
    for op in contract.operations() {
        let responses = &doc["paths"][&op.path][op.method.to_ascii_lowercase()]["responses"];
        for (status, response) in responses.as_object().unwrap() {
            let response = match response["$ref"].as_str() {
                Some(r) => doc.pointer(&r[1..]).unwrap(),
                None => response,
            };
            let schema = &response["content"]["application/json"]["schema"];
            // Error bodies are the ones composed from the Error schema (possibly in a oneOf).
            let errors: Vec<&Value> = std::iter::once(schema)
                .chain(schema["oneOf"].as_array().into_iter().flatten())
                .filter(|s| s["allOf"][0]["$ref"] == "#/components/schemas/Error")
                .collect();
            for e in errors {
                let where_ = format!("{} {} {status}", op.method, op.path);
                assert_eq!(
                    e["properties"]["code"]["const"].to_string(),
                    *status,
                    "{where_}: code"
                );
                let errnos = e["properties"]["errno"]["enum"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{where_}"));
                assert!(!errnos.is_empty(), "{where_}: no errno");
                for n in errnos {
                    assert!(
                        table.contains(&n.as_u64().unwrap()),
                        "{where_}: errno {n} not in the table"
                    );
                }
                let status: u16 = status.parse().unwrap();
                if status == 429 || status == 503 {
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{where_}: Retry-After"
                    );
                }
                checked += 1;
            }
        }
        let pointer = format!(
            "/paths/{}/{}",
            escape(&op.path),
            op.method.to_ascii_lowercase()
        );
        let secured = doc.pointer(&format!("{pointer}/security")).is_some();
        let has_401 = doc.pointer(&format!("{pointer}/responses/401")).is_some();
        assert!(!secured || has_401, "{op:?}: Hawk-secured without a 401");
    }
    assert!(checked > 60, "only {checked} error responses found");
}

#[tokio::test]
async fn the_document_is_served_with_the_configured_public_url() {
    let app = TestApp::builder()
        .var("MOBILEID_PUBLIC_URL", "https://mobileid.example.org/")
        .build()
        .await;
    let served = app.send(Method::GET, "/openapi.json", None).await;
    assert_eq!(served.status, 200);
    let doc = served.json();
    assert_eq!(doc["servers"][0]["url"], "https://mobileid.example.org");
    let mut expected = Contract::from_source().doc;
    expected["servers"] = doc["servers"].clone();
    assert_eq!(
        doc, expected,
        "served = shared/openapi.json but for servers"
    );
    let legacy = app.send(Method::GET, "/api-specs", None).await;
    assert_eq!(legacy.json(), doc);
}
