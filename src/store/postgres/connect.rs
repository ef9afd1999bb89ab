//! Connecting to the database: a connection string read as libpq reads it, its own parameters
//! first, then the `PG*` environment ([`super::env`]) for what it leaves out, over TLS when
//! its `sslmode` asks ([`super::tls`]); and where a chain is, for messages.
//!
//! Uses the connection's environment and TLS, and the store's error text.

use std::path::PathBuf;

use postgres::{Client, NoTls};

use super::env::{self, Env};
use super::{pg_err, tls};

/// How to connect to where a connection string points.
struct Connection {
    config: postgres::Config,
    target: tls::Target,
    /// Why the password file was not used, if it could not be.
    password_note: Option<String>,
}

/// The driver's configuration and the TLS to use for `url`, read in `env`.
fn configure(url: &str, env: Env<'_>) -> Result<Connection, String> {
    let target = tls::Target::parse(url, env)?;
    let mut config: postgres::Config = env::url_port(&target.conninfo, env)?
        .parse()
        .map_err(|e| pg_err(&e))?;
    env::apply(&mut config, env)?;
    env::defaults(&mut config, &env::SOCKET_DIRS, || whoami::username().ok())?;
    let password_note = env::password_file(&mut config, env);
    Ok(Connection {
        config,
        target,
        password_note,
    })
}

/// Connects as `url` asks, in the process's environment, over TLS when its `sslmode` says so.
pub(crate) fn connect(url: &str) -> Result<Client, String> {
    let Connection {
        config,
        target,
        password_note,
    } = configure(url, &env::process)?;
    let socket = socket_file(&config);
    let said = |e: postgres::Error| {
        let said = pg_err(&e);
        match (&password_note, &socket) {
            (Some(note), _) if said.ends_with("password missing") => format!("{said}; {note}"),
            // "No such file or directory" alone does not say which.
            (_, Some(socket)) if e.as_db_error().is_none() => {
                format!("{said} (the socket {socket})")
            }
            _ => said,
        }
    };
    #[cfg(feature = "postgres-tls")]
    if target.mode != tls::Mode::Plain {
        if let Some(socket) = only_sockets(&config) {
            return Err(format!(
                "the sslmode asks for TLS, which PostgreSQL does not speak over a Unix socket \
                 ({socket}): connect over TCP for TLS, or set sslmode=disable for the socket, \
                 which its file's permissions guard"
            ));
        }
        return config.connect(tls::connector(&target)?).map_err(said);
    }
    #[cfg(not(feature = "postgres-tls"))]
    let _ = target;
    config.connect(NoTls).map_err(said)
}

/// The server's socket file when the first host is a Unix socket's directory.
fn socket_file(config: &postgres::Config) -> Option<String> {
    match config.get_hosts().first()? {
        postgres::config::Host::Tcp(_) => None,
        #[cfg(unix)]
        postgres::config::Host::Unix(dir) => {
            Some(dir.join(env::socket_name(config)).display().to_string())
        }
    }
}

/// The first host's socket directory when every host `config` names is a Unix socket.
#[cfg(feature = "postgres-tls")]
fn only_sockets(config: &postgres::Config) -> Option<String> {
    let mut sockets = config.get_hosts().iter().map(|h| match h {
        postgres::config::Host::Tcp(_) => None,
        #[cfg(unix)]
        postgres::config::Host::Unix(p) => Some(p.display().to_string()),
    });
    let first = sockets.next()??;
    (config.get_hostaddrs().is_empty() && sockets.all(|s| s.is_some())).then_some(first)
}

/// Where a database chain is, for messages and reports: the server, user and database a
/// connection goes to (the `PG*` variables filling in what the URL leaves out), without its
/// password or TLS parameters, and the chain (`postgres://auditor@db:5432/audit#loan-triage`).
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// use acttrace::store::postgres::describe;
///
/// let shown = describe("postgres://auditor:secret@db:5432/audit?sslmode=disable", "loan-triage");
/// assert_eq!(shown.to_str(), Some("postgres://auditor@db:5432/audit#loan-triage"));
/// # }
/// ```
pub fn describe(url: &str, chain: &str) -> PathBuf {
    describe_in(url, chain, &env::process)
}

fn describe_in(url: &str, chain: &str, env: Env<'_>) -> PathBuf {
    let config = configure(url, env).map(|c| c.config).or_else(|_| {
        // Unusable TLS parameters or variables: still say where the string points.
        let bare =
            tls::Target::parse(url, &|_| None).map_or_else(|_| url.to_owned(), |t| t.conninfo);
        bare.parse::<postgres::Config>()
    });
    let shown = match config {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default();
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{}@{host}:{port}/{}",
                c.get_user().unwrap_or_default(),
                c.get_dbname().unwrap_or_default()
            )
        }
        Err(_) => "postgres (unparsable URL)".to_owned(),
    };
    PathBuf::from(format!("{shown}#{chain}"))
}

#[cfg(test)]
mod tests {
    use super::describe_in;

    #[test]
    fn a_chain_is_described_where_the_connection_goes() {
        let env = |name: &str| match name {
            "PGUSER" => Some("auditor".to_owned()),
            "PGPORT" => Some("6432".to_owned()),
            "PGPASSWORD" => Some("s3cret".to_owned()),
            _ => None,
        };
        let shown = describe_in("postgres://db/audit", "loans", &env);
        assert_eq!(
            shown.to_str(),
            Some("postgres://auditor@db:6432/audit#loans")
        );
        let shown = describe_in("postgres://u:pw@db:5433/audit", "loans", &env);
        assert_eq!(shown.to_str(), Some("postgres://u@db:5433/audit#loans"));
        // A variable that cannot be used does not hide where the string points.
        let bad = |name: &str| (name == "PGPORT").then(|| "x".to_owned());
        let shown = describe_in("postgres://u@db/audit?sslmode=require", "c", &bad);
        assert_eq!(shown.to_str(), Some("postgres://u@db:5432/audit#c"));
        let shown = describe_in("postgres://db:notaport/a", "c", &|_| None);
        assert_eq!(shown.to_str(), Some("postgres (unparsable URL)#c"));
    }
}
