//! The fake SMS gateway's read side (local server, load-stage): `GET /receive?to=<digits>`
//! (the original's load-test gateway, OMXEN, answered there) and `GET /__sms__/receive?to=`
//! return the messages sent to a number as `[{from, to, text, timestamp}]`, newest last;
//! `GET /__sms__/` shows every message to a person, with the inbound callbacks and what came
//! of each (`GET /__sms__/inbound`; local server only).
//!
//! They exist only where SMS go to the fake gateway, never where SMS are real. When
//! `MOBILEID_FAKE_SMS_TOKEN` is set they want `Authorization: Bearer <token>`; a Lambda does
//! not serve them at all without one.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};

use crate::api::AppState;
use crate::error::{ApiError, Errno};

/// What the inbound-sms function serves in a Lambda stack.
pub fn read_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/receive", get(receive))
        .route("/__sms__/receive", get(receive))
}

/// Everything, for the local server.
pub fn routes() -> axum::Router<AppState> {
    read_routes()
        .route("/__sms__/all", get(all))
        .route("/__sms__/inbound", get(inbound))
        .route("/__sms__/", get(page))
}

/// Longest E.164 number (ITU-T E.164: 15 digits).
const MAX_DIGITS: usize = 15;

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // The token first: without it, a caller learns nothing, not even whether SMS are fake here.
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    let Some(gateway) = &state.outbox else {
        return ApiError::not_found().into_response();
    };
    // `?to=+33…` arrives as a space when the `+` was not percent-encoded.
    let Some(to) = q
        .get("to")
        .map(|t| t.trim().trim_start_matches('+'))
        .filter(|t| !t.is_empty())
    else {
        return ApiError::missing(&["to"]).into_response();
    };
    if to.len() > MAX_DIGITS || !to.bytes().all(|b| b.is_ascii_digit()) {
        return ApiError::invalid("to must be a phone number in digits (E.164 without +).")
            .into_response();
    }
    match gateway.messages_to(to).await {
        Ok(messages) => Json(messages).into_response(),
        Err(e) => state.store_error(e).into_response(),
    }
}

async fn all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    match state.outbox.as_ref().and_then(|g| g.all_messages()) {
        Some(messages) => Json(messages).into_response(),
        None => ApiError::not_found().into_response(),
    }
}

async fn inbound(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    match state.outbox.as_ref().and_then(|g| g.inbound()) {
        Some(records) => Json(records).into_response(),
        None => ApiError::not_found().into_response(),
    }
}

/// The page, with the messages already in it (a person sees them on first paint; the script
/// then keeps it current). With a token configured it holds no message: the page asks for the
/// token, and the script reads with it.
async fn page(State(state): State<AppState>) -> Response {
    let Some(gateway) = &state.outbox else {
        return ApiError::not_found().into_response();
    };
    let locked = state.settings.fake_sms_token.is_some();
    let (sms, inbound) = if locked {
        (Vec::new(), Vec::new())
    } else {
        (
            gateway.all_messages().unwrap_or_default(),
            gateway.inbound().unwrap_or_default(),
        )
    };
    let sms_rows: String = sms
        .iter()
        .rev()
        .map(|m| row(&[&utc(m.timestamp), &m.from, &format!("+{}", m.to), &m.text]))
        .collect();
    let inbound_rows: String = inbound
        .iter()
        .rev()
        .map(|r| {
            row(&[
                &utc(r.timestamp),
                &r.from,
                &r.text,
                r.message_id.as_deref().unwrap_or(""),
                &r.outcome,
            ])
        })
        .collect();
    let empty = |what: &str| {
        let text = if locked {
            "Enter the token to read the gateway.".to_owned()
        } else {
            format!("No {what} yet.")
        };
        format!("<tr><td colspan=\"5\" class=\"empty\">{text}</td></tr>")
    };
    let sms_rows = if sms_rows.is_empty() {
        empty("SMS")
    } else {
        sms_rows
    };
    let inbound_rows = if inbound_rows.is_empty() {
        empty("inbound callback")
    } else {
        inbound_rows
    };
    let html = include_str!("fake_sms.html")
        .replace("{{LOCKED}}", if locked { "true" } else { "false" })
        .replace("{{SMS_ROWS}}", &sms_rows)
        .replace("{{INBOUND_ROWS}}", &inbound_rows);
    Html(html).into_response()
}

/// One table row; every cell escaped (texts and numbers come from callers).
fn row(cells: &[&str]) -> String {
    let mut tr = String::from("<tr>");
    for cell in cells {
        tr.push_str("<td>");
        tr.push_str(&escape_html(cell));
        tr.push_str("</td>");
    }
    tr.push_str("</tr>\n");
    tr
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-05-01 09:30:00 UTC`: the date too (a long-running server shows yesterday's SMS), in
/// the same form as the page's script writes it.
pub fn utc(epoch_secs: i64) -> String {
    format!("{} UTC", crate::clock::utc_datetime(epoch_secs))
}

/// With a configured token, only its bearer may read (load-stage's URL is public).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.settings.fake_sms_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if token.admits(presented) {
        return Ok(());
    }
    tracing::warn!("fake gateway read refused: no or wrong bearer token");
    let mut e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        Errno::FakeGatewayToken,
        "Reading the fake SMS gateway needs Authorization: Bearer <MOBILEID_FAKE_SMS_TOKEN>.",
    );
    e.www_authenticate = Some("Bearer realm=\"fake-sms\"".to_owned());
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_the_date() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_777_627_845), "2026-05-01 09:30:45 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(
            row(&["<b>&\"'"]),
            "<tr><td>&lt;b&gt;&amp;&quot;&#39;</td></tr>\n"
        );
    }
}
