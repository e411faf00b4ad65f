//! The `start-verification` Lambda: discover, register, unregister, sms/mt/verify and the service routes (texts codes).
//! Everything it does lives in the shared crates; this only names the router and the SMS
//! providers it links.

use mobileid_aws::lambda::{Function, nexmo_and_sns};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mobileid_aws::run(Function {
        router: mobileid::api::start_verification_router,
        sms: nexmo_and_sns,
        signs_certificates: false,
    })
    .await
}
