//! The cold-start floor: a `lambda_http` function that answers every event 200 and does
//! nothing else. `infra/bench/cold-start.sh` builds it with the four functions and measures
//! them side by side under the emulator, so the ratio holds whatever the machine's load.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        let response = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from("{}"))?;
        Ok::<_, Error>(response)
    }))
    .await
}
