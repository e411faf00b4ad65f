//! Request bodies: size limits, Content-Length, JSON or form decoding, and the parameter
//! checks every route shares (missing → 108, wrong type → 107).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use super::AppState;
use crate::error::{ApiError, Errno};

/// The raw body, read within the stage's size limit.
#[derive(Debug, Clone, Default)]
pub struct RawBody {
    pub bytes: Bytes,
    /// The Content-Type header (empty when absent).
    pub content_type: String,
}

impl RawBody {
    /// Reads the body: 411/112 for a body without Content-Length, 413/113 past `limit`.
    pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Self, ApiError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_none() && headers.contains_key(header::TRANSFER_ENCODING) {
            return Err(ApiError::new(
                http::StatusCode::LENGTH_REQUIRED,
                Errno::LengthMissing,
                "A request body needs a Content-Length header.",
            ));
        }
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let bytes = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|_| too_large(limit))?
            .to_bytes();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(RawBody {
            bytes,
            content_type,
        })
    }

    /// Decodes the body as a JSON object, or as a form (the original accepted both).
    pub fn params(&self) -> Result<Params, ApiError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::default());
        }
        let mime = self.content_type.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&self.bytes)
                .map_err(|_| ApiError::bad_json("The form body could not be decoded."))?;
            let map = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            return Ok(Params(map));
        }
        match serde_json::from_slice::<Value>(&self.bytes) {
            Ok(Value::Object(map)) => Ok(Params(map)),
            Ok(_) => Err(ApiError::bad_json("The body must be a JSON object.")),
            Err(e) => Err(ApiError::bad_json(format!(
                "The body is not valid JSON: {e}."
            ))),
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        http::StatusCode::PAYLOAD_TOO_LARGE,
        Errno::RequestTooLarge,
        format!("The request body is larger than {limit} bytes."),
    )
}

/// 406/106 when the client says it can't read JSON (no Accept header is fine).
pub fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let accepts_json = accept.split(',').any(|range| {
        let mime = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            mime.as_str(),
            "application/json" | "application/*" | "*/*" | ""
        )
    });
    if accepts_json {
        Ok(())
    } else {
        Err(ApiError::new(
            http::StatusCode::NOT_ACCEPTABLE,
            Errno::BadJson,
            "Responses are application/json: the Accept header must allow it.",
        ))
    }
}

/// The request's parameters (a JSON object).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The value of `name`, treating `null` as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn has_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// 400/108 naming every missing parameter (absent, null or empty string), in this order.
    pub fn require(&self, names: &[&str]) -> Result<(), ApiError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| match self.get(n) {
                None => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::missing(&missing))
        }
    }

    /// The value of `name` if it is a string.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

/// Extractor for unauthenticated routes: checks Accept, reads and decodes the body.
impl FromRequest<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        check_accept(&parts.headers)?;
        RawBody::read(&parts.headers, body, state.limits().max_body_bytes)
            .await?
            .params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        Params(v.as_object().unwrap().clone())
    }

    #[test]
    fn require_lists_missing_names_in_order() {
        let p = params(json!({"a": "x", "b": null, "c": ""}));
        assert_eq!(p.require(&["a"]), Ok(()));
        assert_eq!(
            p.require(&["d", "b", "c", "a"]).unwrap_err().message,
            "Missing d,b,c"
        );
        // A present non-string value is not "missing" (its route says it is invalid).
        assert_eq!(params(json!({"mcc": 208})).require(&["mcc"]), Ok(()));
    }

    #[test]
    fn json_form_and_empty_bodies_decode() {
        let raw = |ct: &str, b: &'static str| RawBody {
            bytes: Bytes::from(b),
            content_type: ct.into(),
        };
        assert_eq!(
            raw("application/json", r#"{"mcc":"208"}"#)
                .params()
                .unwrap()
                .str("mcc"),
            Some("208")
        );
        assert_eq!(
            raw("application/x-www-form-urlencoded", "mcc=208&x=a%20b")
                .params()
                .unwrap()
                .str("x"),
            Some("a b")
        );
        assert!(raw("", "  ").params().unwrap().0.is_empty());
        assert_eq!(
            raw("application/json", "[1]").params().unwrap_err().errno,
            Errno::BadJson
        );
        assert_eq!(
            raw("application/json", "{bad").params().unwrap_err().errno,
            Errno::BadJson
        );
    }

    #[test]
    fn accept_must_allow_json() {
        let mut h = HeaderMap::new();
        assert!(check_accept(&h).is_ok());
        h.insert(
            header::ACCEPT,
            "text/html, application/json;q=0.5".parse().unwrap(),
        );
        assert!(check_accept(&h).is_ok());
        h.insert(header::ACCEPT, "text/html".parse().unwrap());
        assert_eq!(check_accept(&h).unwrap_err().status.as_u16(), 406);
    }
}
