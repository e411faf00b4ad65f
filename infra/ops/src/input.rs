//! Where the tool's inputs come from: a file, standard input (`-`), or for key sets a URL.

use std::io::Read;
use std::net::IpAddr;

/// The text of `source`: a path, or `-` for standard input. `what` names it in errors.
pub fn read_text(source: &str, what: &str) -> Result<String, String> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the {what} from standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(source)
        .map_err(|e| format!("cannot read the {what} from {source}: {e}"))
}

/// The JSON at `source`: an https:// (or loopback http://) URL, a path, or `-`.
pub fn read_json(source: &str, what: &str) -> Result<serde_json::Value, String> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source, what)?
    } else {
        read_text(source, what)?
    };
    serde_json::from_str(&text).map_err(|e| format!("the {what} at {source} is not JSON: {e}"))
}

/// GETs `url`. Key material decides what a certificate proves, so plain http is refused unless
/// it stays on this machine (a local server under test).
fn fetch(url: &str, what: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(format!(
            "refusing to fetch the {what} over plain http from {url}: use https, or a loopback address"
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let response = client
            .get(parsed)
            .send()
            .await
            .map_err(|e| format!("fetching the {what} from {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("fetching the {what} from {url}: HTTP {status}"));
        }
        response
            .text()
            .await
            .map_err(|e| format!("reading the {what} from {url}: {e}"))
    })
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        // IPv6 hosts come back bracketed (`[::1]`).
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_may_use_plain_http() {
        for ok in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:9/x",
        ] {
            assert!(is_loopback(&reqwest::Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/x",
            "http://example.com/x",
            "http://127.0.0.1.nip.io/x",
        ] {
            assert!(!is_loopback(&reqwest::Url::parse(bad).unwrap()), "{bad}");
        }
        let err = fetch("http://example.com/jwks.json", "JWKS").unwrap_err();
        assert!(err.contains("refusing"), "{err}");
    }
}
