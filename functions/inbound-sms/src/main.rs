//! The `inbound-sms` Lambda: the SMS provider's inbound-SMS webhook (on a function URL).
//! Everything it does lives in the shared crate; this only picks the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid::runtime::run_lambda(mobileid::api::inbound_sms_router).await
}
