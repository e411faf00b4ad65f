//! The `verify-code` Lambda: sms/verify_code.
//! Everything it does lives in the shared crate; this only picks the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid::runtime::run_lambda(mobileid::api::verify_code_router).await
}
