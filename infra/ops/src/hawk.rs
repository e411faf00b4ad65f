//! `mobileid hawk-header`: the Hawk `Authorization` header a device would send, so that the
//! API can be tried with curl (see the README's walk-through). Signing is the shared crate's
//! client side, the same code the tests and the load test use.

use std::time::{SystemTime, UNIX_EPOCH};

use mobileid::crypto::derive_credentials;
use mobileid::crypto::hawk_auth::{SignedRequest, client_authorization};
use mobileid::domain::SessionToken;

/// Prints the header (or, with `print_id`, the Hawk id a device texts in the SMS-MO flow).
pub fn header(
    token: &str,
    method: &str,
    url: Option<&str>,
    body: Option<&str>,
    print_id: bool,
) -> Result<(), String> {
    let token = SessionToken::parse(token.trim())
        .ok_or("--token must be the 64 hex characters of msisdnSessionToken")?;
    let (id, key) = derive_credentials(&token);
    if print_id {
        println!("{}", id.to_hex());
        return Ok(());
    }
    let url =
        url.ok_or("--url is required (e.g. http://127.0.0.1:8080/v1/msisdn/sms/mt/verify)")?;
    let (host, port, path) = split_url(url)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let nonce = hex::encode(rand::random::<[u8; 8]>());
    let request = SignedRequest {
        method: &method.to_ascii_uppercase(),
        host: &host,
        port,
        path: &path,
    };
    let payload = body.map(|b| ("application/json", b.as_bytes()));
    println!(
        "{}",
        client_authorization(&id, &key, &request, now, &nonce, payload)
    );
    Ok(())
}

/// `http(s)://host[:port]/path?query` → (host, port, path and query).
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("--url must start with http:// or https://")?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return Err("--url must start with http:// or https://".into()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            (h, p.parse().map_err(|_| format!("bad port in {url}"))?)
        }
        _ => (authority, default_port),
    };
    Ok((host.to_ascii_lowercase(), port, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_like_the_server_reads_them() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/v1/msisdn/sms/mt/verify").unwrap(),
            ("127.0.0.1".into(), 8080, "/v1/msisdn/sms/mt/verify".into())
        );
        assert_eq!(
            split_url("https://API.example.com/sms/momt/?provider=nexmo")
                .unwrap()
                .1,
            443
        );
        assert_eq!(
            split_url("https://api.example.com/x?a=1").unwrap().2,
            "/x?a=1"
        );
        assert!(split_url("ftp://x/").is_err());
        assert!(split_url("http://x:port/").is_err());
    }
}
