//! The `start-verification` Lambda: discover, register, unregister, sms/mt/verify and the service routes.
//! Everything it does lives in the shared crate; this only picks the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid::runtime::run_lambda(mobileid::api::start_verification_router).await
}
