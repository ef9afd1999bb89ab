//! libpq's defaults on the real server: a URL that names no host reaches the local server
//! through its Unix socket, in the writer and in the CLI, and one that names no user goes as
//! the login name; TLS asked of a socket is refused, saying why; and a port no local server
//! listens on is refused naming where the socket was looked for.

use acttrace::store::Durability;

use super::{SERVER, fresh_chain, open, probe, server};

/// The server's user and database, and the directory of its socket if it is one where a
/// URL without a host looks (`None`, with a note, if it is elsewhere or has none).
fn local(url: &str) -> Option<(String, String, u16, &'static str)> {
    let config: postgres::Config = url.parse().unwrap();
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let dbname = config.get_dbname().unwrap_or(&user).to_owned();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let dirs: String = client
        .query_one("SHOW unix_socket_directories", &[])
        .unwrap()
        .get(0);
    let found = ["/var/run/postgresql", "/tmp"].into_iter().find(|dir| {
        dirs.split(',').any(|d| d.trim() == *dir)
            && std::path::Path::new(dir)
                .join(format!(".s.PGSQL.{port}"))
                .exists()
    });
    if found.is_none() {
        eprintln!("skipped: the server's sockets ({dirs:?}) are not where libpq looks");
    }
    found.map(|dir| (user, dbname, port, dir))
}

#[test]
fn a_url_without_a_host_reaches_the_local_server_through_its_socket() {
    let Some(url) = server() else { return };
    let _shared = SERVER.blocking_read();
    let Some((user, dbname, port, dir)) = local(&url) else {
        return;
    };
    let chain = fresh_chain("socket");
    let socket_url = format!("postgres:///{dbname}?user={user}&port={port}");
    // The writer, through the socket (unless this process's PGHOST points elsewhere).
    let libpq_host = ["PGHOST", "PGHOSTADDR"].map(std::env::var_os);
    let url_for_writer = match libpq_host {
        [None, None] => socket_url.as_str(),
        _ => url.as_str(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let log = open(url_for_writer, &chain, Durability::Fsync).await;
        for i in 0..3 {
            log.append(probe(1, i)).await.unwrap();
        }
        log.shutdown().await.unwrap();
    });
    // Over TCP, the same chain: what went through the socket went to this server.
    let over_tcp = super::pull(&url, &chain);
    assert_eq!(over_tcp.lines().count(), 4, "{over_tcp}");

    #[cfg(feature = "cli")]
    {
        let verify = |url: &str, vars: &[(&str, &str)]| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_acttrace"));
            cmd.args(["verify", url, "--chain", &chain, "--key", super::KEY]);
            for (name, _) in std::env::vars() {
                if name.starts_with("PG") {
                    cmd.env_remove(name);
                }
            }
            let out = cmd.envs(vars.iter().copied()).output().unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.code(), said)
        };
        let (code, said) = verify(&socket_url, &[]);
        assert_eq!(code, Some(0), "{said}");
        assert!(said.contains("4 entries"), "{said}");
        let port = port.to_string();
        let vars = [("PGUSER", user.as_str()), ("PGPORT", &port)];
        let (code, said) = verify(&format!("postgres:///{dbname}"), &vars);
        assert_eq!(code, Some(0), "{said}");

        // No user: the login name, as the server then tells (or admits, if it is a role).
        let login = whoami::username().unwrap();
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let is_role = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&login])
            .unwrap()
            .is_some();
        let (code, said) = verify(&format!("postgres:///{dbname}"), &[("PGPORT", &port)]);
        match is_role {
            true => assert_eq!(code, Some(0), "{said}"),
            false => assert!(said.contains(&format!("\"{login}\"")), "{said}"),
        }

        // No server's socket for the port: refused, naming where it looked.
        let (code, said) = verify(&format!("postgres:///{dbname}?user={user}&port=1"), &[]);
        assert_eq!(code, Some(2), "{said}");
        assert!(
            said.contains("no host is given")
                && said.contains("/var/run/postgresql/.s.PGSQL.1 or /tmp/.s.PGSQL.1"),
            "{said}"
        );
        // A socket directory named that holds none: the error names the file.
        let scratch = crate::support::Scratch::new("pg-no-socket");
        let gone = scratch.join("");
        let (code, said) = verify(&socket_url, &[("PGHOST", gone.to_str().unwrap())]);
        assert_eq!(code, Some(2), "{said}");
        let file = gone.join(format!(".s.PGSQL.{port}"));
        assert!(
            said.contains(&format!("the socket {}", file.display())),
            "{said}"
        );

        // TLS is not spoken over a socket: asked for, the connection is refused, not made
        // in plain text.
        #[cfg(feature = "postgres-tls")]
        for (url, vars) in [
            (socket_url.clone(), &[("PGSSLMODE", "verify-full")][..]),
            (format!("{socket_url}&sslmode=verify-full"), &[]),
        ] {
            let (code, said) = verify(&url, vars);
            assert_eq!(code, Some(2), "{said}");
            assert!(
                said.contains("does not speak over a Unix socket") && said.contains(dir),
                "{said}"
            );
        }
    }
    let _ = dir;
}
