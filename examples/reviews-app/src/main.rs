//! `cargo run -p tessera-example-reviews`: the example app on 127.0.0.1:8080, its data in
//! `./reviews-app.sqlite3`, signing with `APP_SIGNING_KEY` (at least 32 bytes).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("APP_SIGNING_KEY")
        .map_err(|_| "set APP_SIGNING_KEY to a secret of at least 32 bytes")?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (_, app) =
            tessera_example_reviews::build("reviews-app.sqlite3", key.as_bytes()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
        println!("reviews app on http://127.0.0.1:8080 (Tessera under /api/v1/auth/)");
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await?;
        Ok(())
    })
}
