//! Sending through an ordered list of providers: each attempt bounded by a timeout, the next
//! provider tried on any failure, a fixed number of attempts in all.
//!
//! Unlike the original, every send starts again from the first provider (no global rotation
//! that one failure leaves behind for everyone). A timed-out attempt may still have been
//! delivered, so the person can receive two SMS with the same code: accepted, as the
//! alternative is no SMS at all.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{OutboundSms, Sent, SmsError, SmsSender};
use crate::crypto::KeyedIds;
use crate::domain::Msisdn;

pub struct Failover {
    providers: Vec<Arc<dyn SmsSender>>,
    attempts: usize,
    timeout: Duration,
    /// Tags numbers in logs (never the number itself).
    ids: KeyedIds,
    /// `nexmo,sns`: what the heartbeat and the logs call this list.
    name: String,
}

impl Failover {
    /// `providers` in order of preference (at least one); `attempts` in all (at least one).
    pub fn new(
        providers: Vec<Arc<dyn SmsSender>>,
        attempts: usize,
        timeout: Duration,
        ids: KeyedIds,
    ) -> Self {
        assert!(!providers.is_empty(), "a failover needs a provider");
        let name = providers
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",");
        Failover {
            providers,
            attempts: attempts.max(1),
            timeout,
            ids,
            name,
        }
    }

    async fn attempt(&self, provider: &dyn SmsSender, sms: &OutboundSms) -> Result<Sent, SmsError> {
        tokio::time::timeout(self.timeout, provider.send_tracked(sms, &[]))
            .await
            .unwrap_or(Err(SmsError::Timeout))
    }
}

#[async_trait]
impl SmsSender for Failover {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        self.send_tracked(sms, &[]).await.map(|_| ())
    }

    async fn send_tracked(&self, sms: &OutboundSms, only: &[String]) -> Result<Sent, SmsError> {
        let number = Msisdn::parse(&sms.to)
            .map_or_else(|_| "unparsable".to_owned(), |m| self.ids.log_tag(&m));
        let allowed: Vec<&Arc<dyn SmsSender>> = self
            .providers
            .iter()
            .filter(|p| only.is_empty() || only.iter().any(|name| name == p.name()))
            .collect();
        if allowed.is_empty() {
            return Err(SmsError::Unreachable(format!(
                "none of the providers {} is configured ({})",
                only.join(","),
                self.name
            )));
        }
        let mut last = SmsError::Unreachable("no attempt was made".into());
        let mut failed = Vec::new();
        for (i, provider) in allowed.iter().cycle().take(self.attempts).enumerate() {
            let attempt = i + 1;
            match self.attempt(provider.as_ref(), sms).await {
                Ok(mut sent) => {
                    tracing::info!(provider = provider.name(), number = %number, attempt, "SMS handed to the provider");
                    failed.append(&mut sent.failed);
                    sent.failed = failed;
                    return Ok(sent);
                }
                Err(e) => {
                    tracing::warn!(provider = provider.name(), number = %number, attempt, error = %e, "SMS provider failed");
                    failed.push(provider.name().to_owned());
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Up while one provider is: the service can still send through it (the others are
    /// logged, so that a dead secondary is noticed before it is needed).
    async fn check(&self) -> Result<(), SmsError> {
        let mut up = false;
        let mut first_error = None;
        for provider in &self.providers {
            let result = tokio::time::timeout(self.timeout, provider.check())
                .await
                .unwrap_or(Err(SmsError::Timeout));
            match result {
                Ok(()) => up = true,
                Err(e) => {
                    tracing::warn!(provider = provider.name(), error = %e, "SMS provider check failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if !up => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::crypto::{HmacSecret, Versions};

    /// A provider that answers from a script, one entry per call (the last one repeats).
    struct Scripted {
        name: &'static str,
        script: Vec<Behaviour>,
        calls: Mutex<usize>,
    }

    #[derive(Clone, Copy)]
    enum Behaviour {
        Deliver,
        Refuse,
        Hang,
    }

    impl Scripted {
        fn new(name: &'static str, script: &[Behaviour]) -> Arc<Self> {
            Arc::new(Scripted {
                name,
                script: script.to_vec(),
                calls: Mutex::new(0),
            })
        }

        fn calls(&self) -> usize {
            *self.calls.lock().unwrap()
        }
    }

    #[async_trait]
    impl SmsSender for Scripted {
        fn name(&self) -> &str {
            self.name
        }

        async fn send(&self, _: &OutboundSms) -> Result<(), SmsError> {
            let behaviour = {
                let mut calls = self.calls.lock().unwrap();
                *calls += 1;
                self.script[(*calls - 1).min(self.script.len() - 1)]
            };
            match behaviour {
                Behaviour::Deliver => Ok(()),
                Behaviour::Refuse => Err(SmsError::Rejected(format!("{} refuses", self.name))),
                Behaviour::Hang => std::future::pending().await,
            }
        }

        async fn check(&self) -> Result<(), SmsError> {
            match self.script[0] {
                Behaviour::Deliver => Ok(()),
                _ => Err(SmsError::Unreachable(self.name.into())),
            }
        }
    }

    fn ids() -> KeyedIds {
        let secret = || HmacSecret::new(vec![7; 32]).unwrap();
        KeyedIds::new(
            Versions::single(secret()),
            Versions::single(secret()),
            Versions::single(secret()),
            secret(),
        )
    }

    fn sms() -> OutboundSms {
        OutboundSms {
            from: "Mozilla@".into(),
            to: "+33612345678".into(),
            text: "123456".into(),
        }
    }

    fn failover(providers: &[&Arc<Scripted>], attempts: usize) -> Failover {
        let list = providers
            .iter()
            .map(|p| (*p).clone() as Arc<dyn SmsSender>)
            .collect();
        Failover::new(list, attempts, Duration::from_secs(2), ids())
    }

    #[tokio::test]
    async fn the_second_provider_delivers_when_the_first_fails() {
        let (a, b) = (
            Scripted::new("a", &[Behaviour::Refuse]),
            Scripted::new("b", &[Behaviour::Deliver]),
        );
        let f = failover(&[&a, &b], 3);
        assert_eq!(f.name(), "a,b");
        assert_eq!(f.send(&sms()).await, Ok(()));
        assert_eq!((a.calls(), b.calls()), (1, 1));
        // The next send starts again from the first provider.
        assert_eq!(f.send(&sms()).await, Ok(()));
        assert_eq!((a.calls(), b.calls()), (2, 2));
    }

    #[tokio::test]
    async fn a_narrower_list_skips_the_other_providers_and_says_who_failed() {
        let (a, b) = (
            Scripted::new("a", &[Behaviour::Refuse]),
            Scripted::new("b", &[Behaviour::Deliver]),
        );
        let f = failover(&[&a, &b], 3);
        let sent = f.send_tracked(&sms(), &[]).await.unwrap();
        assert_eq!(
            (sent.provider.as_str(), sent.failed),
            ("b", vec!["a".to_owned()])
        );
        assert!(f.send_tracked(&sms(), &["a".into()]).await.is_err());
        assert_eq!((a.calls(), b.calls()), (4, 1), "only a, three attempts");
        let sent = f.send_tracked(&sms(), &["b".into()]).await.unwrap();
        assert!(sent.failed.is_empty());
        assert_eq!((a.calls(), b.calls()), (4, 2));
        assert!(f.send_tracked(&sms(), &["c".into()]).await.is_err());
    }

    #[tokio::test]
    async fn attempts_cycle_through_the_list_and_stop_at_the_limit() {
        let (a, b) = (
            Scripted::new("a", &[Behaviour::Refuse]),
            Scripted::new("b", &[Behaviour::Refuse]),
        );
        let f = failover(&[&a, &b], 3);
        assert_eq!(
            f.send(&sms()).await,
            Err(SmsError::Rejected("a refuses".into()))
        );
        assert_eq!((a.calls(), b.calls()), (2, 1));
        let single = Scripted::new("s", &[Behaviour::Refuse, Behaviour::Deliver]);
        assert_eq!(failover(&[&single], 2).send(&sms()).await, Ok(()));
        assert_eq!(single.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_provider_times_out_and_the_next_is_tried() {
        let (a, b) = (
            Scripted::new("a", &[Behaviour::Hang]),
            Scripted::new("b", &[Behaviour::Deliver]),
        );
        let started = tokio::time::Instant::now();
        assert_eq!(failover(&[&a, &b], 2).send(&sms()).await, Ok(()));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        let hung = Scripted::new("h", &[Behaviour::Hang]);
        assert_eq!(
            failover(&[&hung], 2).send(&sms()).await,
            Err(SmsError::Timeout)
        );
    }

    #[tokio::test]
    async fn the_check_passes_while_one_provider_is_up() {
        let (up, down) = (
            Scripted::new("up", &[Behaviour::Deliver]),
            Scripted::new("down", &[Behaviour::Refuse]),
        );
        assert_eq!(failover(&[&down, &up], 1).check().await, Ok(()));
        assert_eq!(
            failover(&[&down], 1).check().await,
            Err(SmsError::Unreachable("down".into()))
        );
        assert_eq!(up.calls() + down.calls(), 0, "a check sends nothing");
    }
}
