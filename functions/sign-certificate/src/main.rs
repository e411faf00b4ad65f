//! The `sign-certificate` Lambda: certificate/sign and the key documents.
//! Everything it does lives in the shared crate; this only picks the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid::runtime::run_lambda(mobileid::api::sign_certificate_router).await
}
