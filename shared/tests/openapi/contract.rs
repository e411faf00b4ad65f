//! The OpenAPI document as a test oracle: its operations, its path aliases, and a check that
//! one observed response is one the document allows (status, content type, body schema,
//! required headers). JSON Schema validation is boon's (draft 2020-12, as OpenAPI 3.1 uses).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use mobileid::testkit::TestResponse;
use serde_json::Value;

/// Where the document is registered for boon; `$ref`s inside it resolve against it.
const DOC_URL: &str = "urn:mobileid:openapi";
/// The methods an OpenAPI path item can have.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub struct Contract {
    pub doc: Value,
    compiled: Mutex<(
        boon::Schemas,
        boon::Compiler,
        BTreeMap<String, boon::SchemaIndex>,
    )>,
}

/// One documented operation: a path template (or an alias of one) and an upper-case method.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    pub path: String,
    pub method: String,
}

impl Contract {
    pub fn new(doc: Value) -> Self {
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource(DOC_URL, doc.clone())
            .expect("the document is a JSON value");
        Contract {
            doc,
            compiled: Mutex::new((boon::Schemas::new(), compiler, BTreeMap::new())),
        }
    }

    /// The document as written in `shared/openapi.json`.
    pub fn from_source() -> Self {
        Self::new(serde_json::from_str(include_str!("../../openapi.json")).expect("valid JSON"))
    }

    /// Every documented operation, under its documented path.
    pub fn operations(&self) -> BTreeSet<Operation> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if item.get(m).is_some() {
                    ops.insert(Operation {
                        path: path.clone(),
                        method: m.to_ascii_uppercase(),
                    });
                }
            }
        }
        ops
    }

    /// `x-path-aliases`: alias → documented path.
    pub fn aliases(&self) -> BTreeMap<String, String> {
        self.doc["x-path-aliases"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The documented operations plus, for each alias, the operations of its path.
    pub fn operations_with_aliases(&self) -> BTreeSet<Operation> {
        let ops = self.operations();
        let mut all = ops.clone();
        for (alias, target) in self.aliases() {
            for op in ops.iter().filter(|o| o.path == target) {
                all.insert(Operation {
                    path: alias.clone(),
                    method: op.method.clone(),
                });
            }
        }
        all
    }

    /// The function (`x-function`) that serves a documented path or alias.
    pub fn function_of(&self, path: &str) -> Option<String> {
        let documented = self
            .aliases()
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.to_owned());
        self.doc["paths"][documented.as_str()]["x-function"]
            .as_str()
            .map(str::to_owned)
    }

    /// The documented path a concrete request path falls under (aliases resolved).
    pub fn template_of(&self, concrete: &str) -> Option<String> {
        let path = concrete.split('?').next().unwrap_or(concrete);
        if let Some(target) = self.aliases().get(path) {
            return Some(target.clone());
        }
        self.doc["paths"]
            .as_object()?
            .keys()
            .find(|template| template_matches(template, path))
            .cloned()
    }

    /// Checks one observed response against the document: `Err` says what does not match.
    pub fn check(
        &self,
        method: &str,
        concrete_path: &str,
        res: &TestResponse,
    ) -> Result<(), String> {
        let status = res.status.as_u16();
        let where_ = format!("{method} {concrete_path} → {status}");
        let Some(template) = self.template_of(concrete_path) else {
            // Outside every documented path: only the generic 404 may answer.
            return self.check_generic_error(&where_, res, &[404]);
        };
        let pointer = format!(
            "/paths/{}/{}",
            escape(&template),
            method.to_ascii_lowercase()
        );
        if self.doc.pointer(&pointer).is_none() {
            // A documented path asked with another method: 405 (HEAD of a GET answers like GET).
            if method == "HEAD"
                && self
                    .doc
                    .pointer(&format!("/paths/{}/get", escape(&template)))
                    .is_some()
            {
                return Ok(());
            }
            return self.check_generic_error(&where_, res, &[405]);
        }
        let responses = format!("{pointer}/responses");
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some(key) = [code.as_str(), range.as_str(), "default"]
            .into_iter()
            .find(|k| self.doc.pointer(&format!("{responses}/{k}")).is_some())
        else {
            return Err(format!(
                "{where_}: status not documented (body {})",
                body_text(res)
            ));
        };
        let response_ptr = self.deref(&format!("{responses}/{key}"));
        self.check_headers(&where_, &response_ptr, res)?;
        self.check_body(&where_, &response_ptr, res)
    }

    /// 404/405 answers from the routers' fallbacks: an Error with errno 999.
    fn check_generic_error(
        &self,
        where_: &str,
        res: &TestResponse,
        allowed: &[u16],
    ) -> Result<(), String> {
        if !allowed.contains(&res.status.as_u16()) {
            return Err(format!(
                "{where_}: undocumented (expected one of {allowed:?})"
            ));
        }
        expect_json_type(where_, res)?;
        self.validate(where_, "/components/schemas/Error", &res.json())?;
        match res.errno() {
            Some(999) => Ok(()),
            other => Err(format!("{where_}: errno {other:?}, expected 999")),
        }
    }

    fn check_headers(
        &self,
        where_: &str,
        response_ptr: &str,
        res: &TestResponse,
    ) -> Result<(), String> {
        let Some(headers) = self
            .doc
            .pointer(&format!("{response_ptr}/headers"))
            .and_then(Value::as_object)
        else {
            return Ok(());
        };
        for name in headers.keys() {
            let header_ptr = self.deref(&format!("{response_ptr}/headers/{}", escape(name)));
            let required =
                self.doc.pointer(&format!("{header_ptr}/required")) == Some(&Value::Bool(true));
            let Some(value) = res.header(name) else {
                if required {
                    return Err(format!("{where_}: required header {name} missing"));
                }
                continue;
            };
            let schema_ptr = format!("{header_ptr}/schema");
            let typed = match self
                .doc
                .pointer(&format!("{schema_ptr}/type"))
                .and_then(Value::as_str)
            {
                Some("integer") => value
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("{where_}: header {name}: {value:?} is not an integer"))?,
                _ => Value::String(value.to_owned()),
            };
            self.validate(&format!("{where_}: header {name}"), &schema_ptr, &typed)?;
        }
        Ok(())
    }

    fn check_body(
        &self,
        where_: &str,
        response_ptr: &str,
        res: &TestResponse,
    ) -> Result<(), String> {
        let content = self
            .doc
            .pointer(&format!("{response_ptr}/content"))
            .and_then(Value::as_object);
        let Some(content) = content else {
            return if res.body.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{where_}: documented without a body, got {}",
                    body_text(res)
                ))
            };
        };
        let mime = mime_of(res);
        if !content.contains_key(&mime) {
            let documented: Vec<_> = content.keys().collect();
            return Err(format!(
                "{where_}: content type {mime:?}, documented {documented:?}"
            ));
        }
        let schema_ptr = format!("{response_ptr}/content/{}/schema", escape(&mime));
        let body = if mime == "application/json" {
            serde_json::from_slice::<Value>(&res.body)
                .map_err(|e| format!("{where_}: body is not JSON ({e}): {}", body_text(res)))?
        } else {
            Value::String(String::from_utf8_lossy(&res.body).into_owned())
        };
        self.validate(where_, &schema_ptr, &body)
    }

    /// Validates `value` against the schema at `pointer` in the document.
    pub fn validate(&self, where_: &str, pointer: &str, value: &Value) -> Result<(), String> {
        let mut guard = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        let (schemas, compiler, cache) = &mut *guard;
        let index = match cache.get(pointer) {
            Some(i) => *i,
            None => {
                let location = format!("{DOC_URL}#{pointer}");
                let i = compiler
                    .compile(&location, schemas)
                    .map_err(|e| format!("{where_}: schema {pointer} does not compile: {e}"))?;
                cache.insert(pointer.to_owned(), i);
                i
            }
        };
        schemas
            .validate(value, index)
            .map_err(|e| format!("{where_}: {value} does not match {pointer}: {e:#}"))
    }

    /// Follows a `$ref` (to components) at `pointer`, if there is one.
    fn deref(&self, pointer: &str) -> String {
        match self
            .doc
            .pointer(&format!("{pointer}/$ref"))
            .and_then(Value::as_str)
        {
            Some(r) => r.trim_start_matches('#').to_owned(),
            None => pointer.to_owned(),
        }
    }
}

/// `/a/{x}/b` matches `/a/anything/b`.
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// JSON Pointer escaping of one segment.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn mime_of(res: &TestResponse) -> String {
    res.header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn expect_json_type(where_: &str, res: &TestResponse) -> Result<(), String> {
    match mime_of(res).as_str() {
        "application/json" => Ok(()),
        other => Err(format!(
            "{where_}: an error answered as {other:?}, not JSON"
        )),
    }
}

fn body_text(res: &TestResponse) -> String {
    let text = String::from_utf8_lossy(&res.body);
    let cut: String = text.chars().take(300).collect();
    if res.body.is_empty() {
        "(empty)".into()
    } else {
        cut
    }
}
