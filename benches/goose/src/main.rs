//! One GET of `/` per transaction, as `wrk`/`oha`/`harness load --url` do in the comparison.
//! Run: `goose-bench --host http://127.0.0.1:18080 -u 50 --hatch-rate 1000 -t 10s`.

use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _ = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("get").register_transaction(transaction!(get_root)))
        .execute()
        .await?;
    Ok(())
}
