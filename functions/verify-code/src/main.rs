//! The `verify-code` Lambda: sms/verify_code (sends no SMS, so links no SMS client).
//! Everything it does lives in the shared crates; this only names the router and the SMS
//! providers it links.

use mobileid_aws::lambda::{Function, no_sms};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid_aws::run(Function {
        router: mobileid::api::verify_code_router,
        sms: no_sms,
        signs_certificates: false,
    })
    .await
}
