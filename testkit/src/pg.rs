//! The PostgreSQL the tests may use: `RUNMESH_TEST_DATABASE_URL` (`.ci/postgres.sh` starts
//! one and CI sets it; `RUNMESH_REQUIRE_POSTGRES=1` makes its absence a failure), and
//! schemas of their own for tests that must see only their own runs.

/// The test database's URL, or `None` (the test is then skipped) when none is set.
pub fn database_url() -> Option<String> {
    let url = std::env::var("RUNMESH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var("RUNMESH_REQUIRE_POSTGRES").is_err(),
            "RUNMESH_REQUIRE_POSTGRES is set but RUNMESH_TEST_DATABASE_URL is not"
        );
        eprintln!("RUNMESH_TEST_DATABASE_URL is not set: skipping the PostgreSQL half");
    }
    url
}

/// A plain connection for checking the tables, driven on its own task.
pub async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A schema of its own in the test database, whose URL sees only it.
#[derive(Debug)]
pub struct Schema {
    pub name: String,
    /// The database's URL with this schema as the search path.
    pub url: String,
    root: tokio_postgres::Client,
}

impl Schema {
    /// Creates an empty schema with a random name in the database at `url`.
    pub async fn create(url: &str) -> Self {
        let random = runmesh_core::RunId::random();
        let name: String = std::iter::once("t".to_owned())
            .chain(random.as_bytes()[..6].iter().map(|b| format!("{b:02x}")))
            .collect();
        let root = admin(url).await;
        root.batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        let url = format!("{url}?options=-c%20search_path%3D{name}");
        Self { name, url, root }
    }

    /// Drops the schema and everything in it.
    pub async fn drop_all(self) {
        self.root
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .unwrap();
    }
}
