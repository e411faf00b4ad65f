//! What a stage says about its web and app clients: the browser origins allowed to call the API
//! (CORS), and the two hooks that let a phone fill the code in by itself — the domain of the
//! origin-bound line (`@<domain> #<code>`, WICG sms-one-time-codes, read by Safari and Chrome)
//! and the Android SMS Retriever app hash. Each is parsed once, when the stage table loads.

use std::fmt;

use serde::Deserialize;

/// Longest `otp_domain`: with it, the longest text of every locale (a 32-character long code
/// and the Retriever hash included) still fits one SMS segment and 140 bytes
/// (`sms::text` tests this for each locale and code kind).
pub const OTP_DOMAIN_MAX_LEN: usize = 59;

/// A browser origin the API answers CORS requests from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum AllowedOrigin {
    /// `*`: any origin (Hawk carries no cookie, so no credentials are ever allowed).
    Any,
    /// `scheme://host[:port]`, lowercase, as browsers send it in `Origin`.
    Exact(String),
    /// `http://localhost:<any port>`: the local server's, for a developer's own dev server.
    /// Not writable in a stage table: API Gateway has no port wildcard.
    LocalhostAnyPort,
}

impl AllowedOrigin {
    /// Whether a request's `Origin` header value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            AllowedOrigin::Any => true,
            AllowedOrigin::Exact(o) => o == origin,
            AllowedOrigin::LocalhostAnyPort => {
                origin.strip_prefix("http://localhost").is_some_and(|rest| {
                    rest.is_empty()
                        || rest.strip_prefix(':').is_some_and(|port| {
                            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                        })
                })
            }
        }
    }

    /// The origin of a base URL (`http://127.0.0.1:8080/x` → `http://127.0.0.1:8080`).
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        Self::try_from(format!("{scheme}://{authority}")).ok()
    }
}

impl TryFrom<String> for AllowedOrigin {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if s == "*" {
            return Ok(AllowedOrigin::Any);
        }
        let bad = || format!("cors origin {s:?} is not \"*\" or scheme://host[:port]");
        let (scheme, authority) = s.split_once("://").ok_or_else(bad)?;
        let host_ok = |h: &str| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.[]:".contains(&b))
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, Some(p)),
            _ => (authority, None),
        };
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if !matches!(scheme, "http" | "https") || !host_ok(host) || !port_ok {
            return Err(bad());
        }
        Ok(AllowedOrigin::Exact(s))
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedOrigin::Any => f.write_str("*"),
            AllowedOrigin::Exact(o) => f.write_str(o),
            AllowedOrigin::LocalhostAnyPort => f.write_str("http://localhost:*"),
        }
    }
}

/// The client web app's domain for the origin-bound line: letters, digits, `-` and `.`
/// (the only characters Chrome's parser takes), DNS labels of 1–63 characters, at most
/// [`OTP_DOMAIN_MAX_LEN`] in all; stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OtpDomain(String);

impl OtpDomain {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("otp_domain {s:?}: {why}");
        if s.is_empty() || s.len() > OTP_DOMAIN_MAX_LEN {
            return Err(bad(&format!("1 to {OTP_DOMAIN_MAX_LEN} characters")));
        }
        for label in s.split('.') {
            let ok = (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(bad(
                    "a host name (letters, digits and inner '-', labels joined by '.')",
                ));
            }
        }
        Ok(OtpDomain(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Past the length limit, for the test that shows the limit is the largest that fits.
    #[cfg(test)]
    pub(crate) fn unchecked(s: String) -> Self {
        OtpDomain(s)
    }
}

impl TryFrom<String> for OtpDomain {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

/// The 11-character hash Google Play services computes from an Android app's package name and
/// signing certificate; an SMS that contains it is handed to that app by the SMS Retriever.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AppHash(String);

impl AppHash {
    pub fn parse(s: &str) -> Result<Self, String> {
        let base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        if s.len() == 11 && s.bytes().all(base64) {
            Ok(AppHash(s.to_owned()))
        } else {
            Err(format!(
                "android_app_hash {s:?}: 11 base64 characters (A-Z a-z 0-9 + /)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AppHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_match_exactly() {
        let o = AllowedOrigin::try_from("https://app.example.com".to_owned()).unwrap();
        assert!(o.allows("https://app.example.com"));
        assert!(!o.allows("https://app.example.com.evil.test"));
        assert!(!o.allows("http://app.example.com"));
        for ok in [
            "*",
            "http://localhost:3000",
            "http://[::1]:8080",
            "https://a.b",
        ] {
            assert!(AllowedOrigin::try_from(ok.to_owned()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "app.example.com",
            "https://App.example.com",
            "https://a.b/",
            "https://a.b:0",
            "https://a.b:99999",
            "ftp://a.b",
            "http://localhost:*",
        ] {
            assert!(AllowedOrigin::try_from(bad.to_owned()).is_err(), "{bad}");
        }
        assert_eq!(
            AllowedOrigin::of_url("http://127.0.0.1:8080/demo/"),
            Some(AllowedOrigin::Exact("http://127.0.0.1:8080".into()))
        );
    }

    #[test]
    fn localhost_any_port_is_only_localhost() {
        let o = AllowedOrigin::LocalhostAnyPort;
        for ok in ["http://localhost", "http://localhost:5173"] {
            assert!(o.allows(ok), "{ok}");
        }
        for bad in [
            "http://localhost.evil.test",
            "http://localhost:",
            "http://localhost:80x",
            "https://localhost:5173",
            "http://127.0.0.1:5173",
        ] {
            assert!(!o.allows(bad), "{bad}");
        }
    }

    #[test]
    fn otp_domains_are_host_names_chrome_can_read() {
        assert_eq!(
            OtpDomain::parse("Example.COM").unwrap().as_str(),
            "example.com"
        );
        assert!(OtpDomain::parse("localhost").is_ok());
        assert!(OtpDomain::parse(&"a".repeat(64)).is_err());
        let longest = format!("{}.example.com", "a".repeat(OTP_DOMAIN_MAX_LEN - 12));
        assert_eq!(longest.len(), OTP_DOMAIN_MAX_LEN);
        assert!(OtpDomain::parse(&longest).is_ok());
        assert!(OtpDomain::parse(&format!("a{longest}")).is_err());
        for bad in [
            "", "-a.com", "a-.com", "a..com", "a_b.com", "a.com.", "é.com", "a b",
        ] {
            assert!(OtpDomain::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_hashes_are_11_base64_characters() {
        assert!(AppHash::parse("FA+9qCX9VSu").is_ok());
        for bad in ["FA+9qCX9VS", "FA+9qCX9VSuu", "FA+9qCX9VS-", ""] {
            assert!(AppHash::parse(bad).is_err(), "{bad}");
        }
    }
}
