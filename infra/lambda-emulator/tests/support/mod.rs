//! A running `mobileid-stack` for the tests, and a device-like client of it.
//!
//! The stack needs the release bootstraps (`MOBILEID_STACK_BOOTSTRAPS`, cargo lambda's
//! `target/lambda`) and DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`). Without them the tests
//! say so and pass, unless `MOBILEID_REQUIRE_STACK=1` (the CI stack stage sets it), where a
//! missing piece fails them.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mobileid::crypto::hawk_auth::{SignedRequest, client_authorization};
use mobileid::domain::Msisdn;
use mobileid::sms::NexmoSigner;
use mobileid::testkit::Device;
use serde_json::{Value, json};

pub struct Stack {
    child: Child,
    pub info: Value,
    pub dir: PathBuf,
    pub http: reqwest::Client,
}

/// What a request got.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub elapsed: Duration,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn required() -> bool {
    std::env::var("MOBILEID_REQUIRE_STACK").as_deref() == Ok("1")
}

impl Stack {
    /// Starts a stack, or `None` (after saying why) where the pieces are missing.
    pub fn start(extra: &[&str]) -> Option<Stack> {
        Self::start_with(|template| template.to_owned(), extra)
    }

    /// The same with the template as `edit` makes it from template.yaml (a scenario that
    /// needs what the real template does not have: no `$default` route, a short timeout).
    pub fn start_with(edit: impl Fn(&str) -> String, extra: &[&str]) -> Option<Stack> {
        let bootstraps = std::env::var("MOBILEID_STACK_BOOTSTRAPS").ok();
        let dynamodb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok();
        let (Some(bootstraps), Some(dynamodb)) = (bootstraps, dynamodb) else {
            assert!(
                !required(),
                "MOBILEID_REQUIRE_STACK=1 but MOBILEID_STACK_BOOTSTRAPS or \
                 AWS_ENDPOINT_URL_DYNAMODB is not set"
            );
            eprintln!(
                "skipped: set MOBILEID_STACK_BOOTSTRAPS (cargo lambda's target/lambda) and \
                 AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local) to run the stack tests"
            );
            return None;
        };
        let nonce: u32 = rand::random();
        let dir = std::env::temp_dir().join(format!("mobileid-stack-test-{nonce:08x}"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let ready = dir.join("ready.json");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let original = std::fs::read_to_string(root.join("template.yaml")).unwrap();
        let template = dir.join("template.yaml");
        std::fs::write(&template, edit(&original)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mobileid-stack"))
            .arg("--template")
            .arg(&template)
            .args(["--bootstrap-dir", &bootstraps, "--dynamodb", &dynamodb])
            .arg("--ready-file")
            .arg(&ready)
            .arg("--log-dir")
            .arg(dir.join("logs"))
            .args(extra)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stack.log")).expect("log file"))
            .spawn()
            .expect("mobileid-stack starts");
        let mut stack = Stack {
            child,
            info: Value::Null,
            dir,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            if let Ok(Some(status)) = stack.child.try_wait() {
                let log = std::fs::read_to_string(stack.dir.join("stack.log")).unwrap_or_default();
                panic!("mobileid-stack exited ({status}): {log}");
            }
            assert!(
                Instant::now() < deadline,
                "mobileid-stack not ready in 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        stack.info = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
        Some(stack)
    }

    pub fn api(&self) -> &str {
        self.info["api"].as_str().unwrap()
    }

    pub fn function_url(&self) -> &str {
        self.info["function_url"].as_str().unwrap()
    }

    fn control_url(&self) -> &str {
        self.info["control"].as_str().unwrap()
    }

    /// A call to the runner's control API, which must succeed.
    async fn control(&self, method: reqwest::Method, path_and_query: &str) -> Value {
        let url = format!("{}{path_and_query}", self.control_url());
        let response = self
            .http
            .request(method, url)
            .send()
            .await
            .expect("control API");
        assert!(
            response.status().is_success(),
            "{path_and_query}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn control_post(&self, path_and_query: &str) -> Value {
        self.control(reqwest::Method::POST, path_and_query).await
    }

    pub async fn control_get(&self, path_and_query: &str) -> Value {
        self.control(reqwest::Method::GET, path_and_query).await
    }

    pub async fn stats(&self) -> Value {
        self.control_get("/stats").await
    }

    /// The figures of one function.
    pub async fn function_stats(&self, name: &str) -> Value {
        let stats = self.stats().await;
        stats["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no function {name} in {stats}"))
    }

    async fn read(response: reqwest::Response, started: Instant) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            json: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            elapsed: started.elapsed(),
        }
    }

    /// A request to the API, Hawk-signed as `device` when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        device: Option<&Device>,
    ) -> Answer {
        let url = format!("{}{path}", self.api());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method.clone(), &url)
            .timeout(Duration::from_secs(30));
        let text = body.map(Value::to_string);
        if let Some(text) = &text {
            request = request
                .header("content-type", "application/json")
                .body(text.clone());
        }
        if let Some(device) = device {
            let port: u16 = self.api().rsplit(':').next().unwrap().parse().unwrap();
            let signed = SignedRequest {
                method: method.as_str(),
                host: "127.0.0.1",
                port,
                path,
            };
            let nonce = format!("{:016x}", rand::random::<u64>());
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let payload = text.as_deref().map(|t| ("application/json", t.as_bytes()));
            let authorization =
                client_authorization(&device.id, &device.key, &signed, now, &nonce, payload);
            request = request.header("authorization", authorization);
        }
        let started = Instant::now();
        Self::read(request.send().await.expect("the stack answers"), started).await
    }

    pub async fn post(&self, path: &str, body: &Value, device: Option<&Device>) -> Answer {
        self.call("POST", path, Some(body), device).await
    }

    /// A new session.
    pub async fn register(&self) -> Device {
        let answer = self.post("/v1/msisdn/register", &json!({}), None).await;
        assert_eq!(answer.status, 200, "register: {answer:?}");
        Device::from_token(answer.json["msisdnSessionToken"].as_str().unwrap())
    }

    /// The texts the fake gateway holds for `number`.
    pub async fn sms_to(&self, number: &Msisdn) -> Vec<String> {
        let url = format!("{}receive?to={}", self.function_url(), number.digits());
        let token = self.info["sms_token"].as_str().unwrap();
        let answer = Self::read(
            self.http.get(url).bearer_auth(token).send().await.unwrap(),
            Instant::now(),
        )
        .await;
        assert_eq!(answer.status, 200, "receive: {answer:?}");
        answer
            .json
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect()
    }

    /// The code of the last SMS to `number`, waiting a little for it.
    pub async fn code_for(&self, number: &Msisdn) -> String {
        for _ in 0..50 {
            if let Some(text) = self.sms_to(number).await.last() {
                return mobileid::sms::text::code_in(text).unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no SMS to the number");
    }

    /// Asks for an SMS-MT code; returns the answer.
    pub async fn ask_code(&self, device: &Device, number: &Msisdn) -> Answer {
        let body = json!({"msisdn": number.e164(), "mcc": "208", "shortVerificationCode": true});
        self.post("/v1/msisdn/sms/mt/verify", &body, Some(device))
            .await
    }

    /// A Nexmo inbound-SMS callback, signed with the stack's webhook secret.
    pub async fn inbound_sms(&self, params: &[(String, String)]) -> Answer {
        let secret = self.info["signature_secret"].as_str().unwrap();
        let method = self.info["signature_method"].as_str().unwrap();
        let signer = NexmoSigner::new(secret, method).unwrap();
        let mut params = params.to_vec();
        params.push(("sig".into(), signer.sign(&params)));
        let form = serde_urlencoded::to_string(&params).unwrap();
        let url = format!("{}v1/msisdn/sms/momt/nexmo", self.function_url());
        let started = Instant::now();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        Self::read(response, started).await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SIGTERM, so the runner stops its instances and deletes its tables.
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A French mobile number no other test uses.
pub fn fresh_number() -> Msisdn {
    let n: u32 = rand::random::<u32>() % 10_000_000;
    Msisdn::parse(&format!("+3361{n:07}")).unwrap()
}

/// The Nexmo inbound-SMS parameters of `text` from `from` to `to`, with a fresh messageId.
pub fn inbound_params(
    from: &Msisdn,
    to: &str,
    text: &str,
    message_id: &str,
) -> Vec<(String, String)> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    vec![
        ("msisdn".into(), from.digits().to_owned()),
        ("to".into(), to.trim_start_matches('+').to_owned()),
        ("messageId".into(), message_id.to_owned()),
        ("text".into(), text.to_owned()),
        ("type".into(), "text".into()),
        (
            "message-timestamp".into(),
            mobileid::clock::utc_datetime(now),
        ),
        ("timestamp".into(), now.to_string()),
    ]
}
