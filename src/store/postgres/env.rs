//! libpq's environment: the `PG*` variables that fill in what a connection string leaves out,
//! as `psql` and every libpq program read them, so that a deployment configured for those
//! (`PGSSLMODE=verify-full`, `PGHOST`, `PGPASSWORD`, ...) is connected as it asks, never
//! silently otherwise.
//!
//! | variable | parameter |
//! |---|---|
//! | `PGHOST`, `PGHOSTADDR`, `PGPORT` | `host`, `hostaddr`, `port` (lists, comma-separated) |
//! | `PGUSER`, `PGPASSWORD`, `PGDATABASE` | `user`, `password`, `dbname` |
//! | `PGAPPNAME`, `PGOPTIONS`, `PGCONNECT_TIMEOUT` | `application_name`, `options`, `connect_timeout` |
//! | `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, `PGSSLCRL`, `PGSSLCRLDIR`, `PGSSLMINPROTOCOLVERSION`, `PGSSLMAXPROTOCOLVERSION` | their `ssl*` parameters (read in [`super::tls`]) |
//!
//! A parameter the string gives wins over its variable; an empty variable counts as unset.
//! What neither gives takes libpq's default ([`defaults`]): a local server's Unix socket for
//! the host, the login name for the user (and so, as before, for the database).
//!
//! With no password from the string or `PGPASSWORD`, the password file (`PGPASSFILE`, else
//! `~/.pgpass`) is read as libpq reads it: lines `host:port:database:user:password`, `*`
//! matching anything, `\:` and `\\` escaped, the first line that matches the first host
//! wins. A file that its group or others may read is not used, as in libpq; a connection
//! then refused for want of a password says so.
//!
//! Uses nothing else of the crate.

use std::time::Duration;

/// Where a connection string is read: a variable's value by name (the process's environment,
/// or a test's).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment, an empty variable counting as unset.
pub(crate) fn process(name: &str) -> Option<String> {
    std::env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

/// A `postgres://` URL with `PGPORT` written in for each host that names no port (the driver
/// reads such a host as port 5432, where libpq takes `PGPORT`); anything else as it is.
pub(crate) fn url_port(conninfo: &str, env: Env<'_>) -> Result<String, String> {
    let unchanged = || Ok(conninfo.to_owned());
    let Some(scheme) = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|p| conninfo.starts_with(p))
    else {
        return unchanged();
    };
    let Some(port) = env("PGPORT") else {
        return unchanged();
    };
    // Read as the driver reads it: credentials up to the first `@`, hosts up to `/` or `?`.
    let rest = &conninfo[scheme.len()..];
    let hosts_at = rest.find('@').map_or(0, |at| at + 1);
    let hosts_end = hosts_at
        + rest[hosts_at..]
            .find(['/', '?'])
            .unwrap_or(rest.len() - hosts_at);
    let (hosts, tail) = (&rest[hosts_at..hosts_end], &rest[hosts_end..]);
    let query_port = tail.split_once('?').is_some_and(|(_, q)| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("port"))
    });
    if hosts.is_empty() || query_port {
        return unchanged();
    }
    let chunks: Vec<&str> = hosts.split(',').collect();
    let ports: Vec<&str> = port.split(',').collect();
    if ports.len() != 1 && ports.len() != chunks.len() {
        return Err(format!(
            "PGPORT={port:?} names {} ports for the URL's {} hosts",
            ports.len(),
            chunks.len()
        ));
    }
    let mut written = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let named = match chunk.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => chunk.contains(':'),
        };
        let p = ports[if ports.len() == 1 { 0 } else { i }];
        if named || p.is_empty() {
            written.push((*chunk).to_owned());
        } else {
            p.parse::<u16>()
                .map_err(|_| format!("PGPORT={p:?} is not a port number"))?;
            written.push(format!("{chunk}:{p}"));
        }
    }
    Ok(format!(
        "{scheme}{}{}{tail}",
        &rest[..hosts_at],
        written.join(",")
    ))
}

/// The password file's entry for where `config` connects, when it has no password yet.
/// `Err` is why the file was not used, for a refusal to name.
fn from_passfile(config: &mut postgres::Config, env: Env<'_>) -> Result<(), String> {
    if config.get_password().is_some() {
        return Ok(());
    }
    let path = match (env("PGPASSFILE"), env("HOME")) {
        (Some(file), _) => std::path::PathBuf::from(file),
        (None, Some(home)) => std::path::Path::new(&home).join(".pgpass"),
        (None, None) => return Ok(()),
    };
    let Some(user) = config.get_user().map(str::to_owned) else {
        return Ok(());
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(());
    };
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the password file {shown} was not read: its permissions {mode:03o} let \
                 others than its owner read it (chmod 600 it)"
            ));
        }
    }
    if !meta.is_file() {
        return Err(format!("the password file {shown} is not a file"));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("the password file {shown} was not read: {e}"))?;
    let host = match (config.get_hosts().first(), config.get_hostaddrs().first()) {
        (Some(postgres::config::Host::Tcp(h)), _) => h.clone(),
        (Some(_), _) => "localhost".to_owned(),
        (None, Some(addr)) => addr.to_string(),
        (None, None) => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let dbname = config.get_dbname().unwrap_or(&user).to_owned();
    let wanted = [host.as_str(), port.as_str(), dbname.as_str(), user.as_str()];
    for line in text.lines() {
        let fields = passfile_fields(line);
        if fields.len() < 5 || line.starts_with('#') {
            continue;
        }
        if wanted
            .iter()
            .zip(&fields)
            .all(|(want, field)| field == "*" || field == want)
        {
            config.password(&fields[4]);
            return Ok(());
        }
    }
    Ok(())
}

/// A password file line's fields, split at unescaped `:`, escapes resolved.
fn passfile_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut chars) = (Vec::new(), String::new(), line.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Takes the password from the password file when `config` has none yet; gives why the file
/// was not used when it could not be, for a refusal for want of a password to name.
pub(crate) fn password_file(config: &mut postgres::Config, env: Env<'_>) -> Option<String> {
    from_passfile(config, env).err()
}

/// Fills in from `env` what `config` leaves out, or says which variable is unusable.
pub(crate) fn apply(config: &mut postgres::Config, env: Env<'_>) -> Result<(), String> {
    let list = |name: &str| env(name).map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>());
    if config.get_hosts().is_empty()
        && config.get_hostaddrs().is_empty()
        && let Some(hosts) = list("PGHOST")
    {
        for host in hosts {
            config.host(&host);
        }
    }
    if config.get_hostaddrs().is_empty()
        && let Some(addrs) = list("PGHOSTADDR")
    {
        for addr in addrs {
            let ip = addr
                .parse()
                .map_err(|_| format!("PGHOSTADDR={addr:?} is not an IP address"))?;
            config.hostaddr(ip);
        }
    }
    if config.get_ports().is_empty()
        && let Some(ports) = list("PGPORT")
    {
        for port in ports {
            let n = match port.as_str() {
                "" => 5432,
                p => p
                    .parse()
                    .map_err(|_| format!("PGPORT={p:?} is not a port number"))?,
            };
            config.port(n);
        }
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER")
    {
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = env("PGDATABASE")
    {
        config.dbname(&dbname);
    }
    if config.get_application_name().is_none()
        && let Some(name) = env("PGAPPNAME")
    {
        config.application_name(&name);
    }
    if config.get_options().is_none()
        && let Some(options) = env("PGOPTIONS")
    {
        config.options(&options);
    }
    if config.get_connect_timeout().is_none()
        && let Some(t) = env("PGCONNECT_TIMEOUT")
    {
        let seconds: i64 = t
            .parse()
            .map_err(|_| format!("PGCONNECT_TIMEOUT={t:?} is not a number of seconds"))?;
        // libpq: zero or less waits indefinitely, and less than 2 seconds means 2.
        if seconds > 0 {
            config.connect_timeout(Duration::from_secs(seconds.max(2).unsigned_abs()));
        }
    }
    Ok(())
}

/// The directories where a local server's socket is looked for when no host is given: the
/// one Debian's and Red Hat's libpq look in, then PostgreSQL's own default.
pub(crate) const SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// libpq's defaults for what neither the string nor the environment gives: the host is the
/// first of `socket_dirs` that holds a server's socket for the port (`.s.PGSQL.5432`), and
/// the user is `login` (the name the process runs as). With no host and no such socket, says
/// where it looked: a connection is never guessed onto the network.
pub(crate) fn defaults(
    config: &mut postgres::Config,
    socket_dirs: &[&str],
    login: impl FnOnce() -> Option<String>,
) -> Result<(), String> {
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        local_server(config, socket_dirs)?;
    }
    if config.get_user().is_none()
        && let Some(user) = login()
    {
        config.user(&user);
    }
    Ok(())
}

/// The name of a server's socket file in its directory, for the connection's (first) port:
/// `.s.PGSQL.5432`, as libpq names it.
pub(crate) fn socket_name(config: &postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(".s.PGSQL.{port}")
}

/// The first of `socket_dirs` that holds a server's socket for the port, as the host.
#[cfg(unix)]
fn local_server(config: &mut postgres::Config, socket_dirs: &[&str]) -> Result<(), String> {
    let socket = socket_name(config);
    let found = socket_dirs
        .iter()
        .find(|dir| std::path::Path::new(dir).join(&socket).exists());
    let Some(dir) = found else {
        let looked: Vec<String> = socket_dirs
            .iter()
            .map(|dir| format!("{dir}/{socket}"))
            .collect();
        return Err(format!(
            "no host is given (by the URL, PGHOST or PGHOSTADDR), and no local server's \
             socket is at {}: name the server's host",
            looked.join(" or ")
        ));
    };
    config.host_path(dir);
    Ok(())
}

/// Without Unix sockets, libpq's default host: `localhost`.
#[cfg(not(unix))]
fn local_server(config: &mut postgres::Config, _socket_dirs: &[&str]) -> Result<(), String> {
    config.host("localhost");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{apply, url_port};

    fn read(conninfo: &str, vars: &[(&str, &str)]) -> Result<postgres::Config, String> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let env = |name: &str| vars.get(name).cloned();
        let mut config: postgres::Config = url_port(conninfo, &env)?
            .parse()
            .map_err(|e| format!("{e}"))?;
        apply(&mut config, &env)?;
        if let Some(note) = super::password_file(&mut config, &env) {
            return Err(note);
        }
        Ok(config)
    }

    #[test]
    fn variables_fill_in_what_the_string_leaves_out() {
        let c = read(
            "postgres:///audit",
            &[
                ("PGHOST", "db1,db2"),
                ("PGPORT", "6432,"),
                ("PGUSER", "auditor"),
                ("PGPASSWORD", "s3cret"),
                ("PGDATABASE", "other"),
                ("PGAPPNAME", "acttrace"),
                ("PGOPTIONS", "-c search_path=audit"),
                ("PGCONNECT_TIMEOUT", "1"),
            ],
        )
        .unwrap();
        let hosts: Vec<String> = c.get_hosts().iter().map(|h| format!("{h:?}")).collect();
        assert_eq!(hosts, [r#"Tcp("db1")"#, r#"Tcp("db2")"#]);
        assert_eq!(c.get_ports(), [6432, 5432]);
        assert_eq!(c.get_user(), Some("auditor"));
        assert_eq!(c.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(c.get_dbname(), Some("audit"), "the string's wins");
        assert_eq!(c.get_application_name(), Some("acttrace"));
        assert_eq!(c.get_options(), Some("-c search_path=audit"));
        assert_eq!(c.get_connect_timeout().map(|d| d.as_secs()), Some(2));
    }

    #[test]
    fn pgport_goes_to_the_hosts_of_a_url_that_name_none() {
        let env =
            |port: &'static str| move |name: &str| (name == "PGPORT").then(|| port.to_owned());
        for (url, port, written) in [
            ("postgres://u:p@db/a", "6432", "postgres://u:p@db:6432/a"),
            (
                "postgresql://db1,db2:7,[::1]?x=1",
                "6432",
                "postgresql://db1:6432,db2:7,[::1]:6432?x=1",
            ),
            (
                "postgres://db1,db2/a",
                "6432,6433",
                "postgres://db1:6432,db2:6433/a",
            ),
            ("postgres://[::1]:5/a", "6432", "postgres://[::1]:5/a"),
            ("postgres://db/a?port=7", "6432", "postgres://db/a?port=7"),
            ("postgres:///a", "6432", "postgres:///a"),
            ("host=db", "6432", "host=db"),
        ] {
            assert_eq!(url_port(url, &env(port)).unwrap(), written, "{url}");
        }
        assert_eq!(
            url_port("postgres://db/a", &|_| None).unwrap(),
            "postgres://db/a"
        );
        let e = url_port("postgres://db1,db2/a", &env("1,2,3")).unwrap_err();
        assert!(e.contains("3 ports for the URL's 2 hosts"), "{e}");
        let e = url_port("postgres://db/a", &env("x")).unwrap_err();
        assert!(e.contains("PGPORT=\"x\""), "{e}");
        let c = read("postgres://db/a", &[("PGPORT", "6432")]).unwrap();
        assert_eq!(c.get_ports(), [6432]);
    }

    #[test]
    fn the_password_file_gives_the_first_line_that_matches() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("acttrace-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".pgpass");
        std::fs::write(
            &file,
            "# host:port:database:user:password\n\
             db:5432:other:u:wrong-database\n\
             db:6432:*:u:wrong-port\n\
             too:few\n\
             db:*:audit:u:pa\\:ss:w\\\\rd\n\
             *:*:*:*:anything\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let home = dir.display().to_string();
        let password = |conninfo: &str, vars: &[(&str, &str)]| {
            let mut vars = vars.to_vec();
            vars.push(("HOME", &home));
            read(conninfo, &vars).map(|c| c.get_password().map(<[u8]>::to_vec))
        };
        let got = password("host=db user=u dbname=audit", &[]).unwrap();
        assert_eq!(got.as_deref(), Some(&b"pa:ss:w\\rd"[..]));
        let got = password("host=elsewhere user=x", &[]).unwrap();
        assert_eq!(got.as_deref(), Some(&b"anything"[..]), "the catch-all line");
        // The string's password, then PGPASSWORD, win over the file.
        let got = password("host=db user=u password=mine", &[]).unwrap();
        assert_eq!(got.as_deref(), Some(&b"mine"[..]));
        let got = password("host=db user=u", &[("PGPASSWORD", "env")]).unwrap();
        assert_eq!(got.as_deref(), Some(&b"env"[..]));
        // PGPASSFILE names another file; a missing one gives nothing.
        let got = password("host=db user=u", &[("PGPASSFILE", "/nonexistent/pgpass")]).unwrap();
        assert_eq!(got, None);
        // A file others may read is not used, and the refusal for want of a password says why.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c: postgres::Config = "host=db user=u".parse().unwrap();
        let note = super::password_file(&mut c, &|name| (name == "HOME").then(|| home.clone()));
        assert_eq!(c.get_password(), None);
        assert!(note.is_some_and(|n| n.contains("permissions 644")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every cut and every changed character of some URLs, read with `PGPORT` and the other
    /// variables set, reads or is refused, never panics.
    #[test]
    fn damaged_urls_never_panic_with_the_variables_set() {
        let vars = [
            ("PGPORT", "6432,"),
            ("PGHOST", "db,[::1]"),
            ("PGHOSTADDR", "10.0.0.1"),
            ("PGCONNECT_TIMEOUT", "-5"),
        ];
        for url in [
            "postgres://u:p%40x@db1,[::1]:5/a?port=7&sslmode=disable",
            "postgresql://u@[fe80::1],db:/a",
        ] {
            let chars: Vec<char> = url.chars().collect();
            for cut in 0..=chars.len() {
                let _ = read(&chars[..cut].iter().collect::<String>(), &vars);
            }
            for at in 0..chars.len() {
                for c in ['@', ':', ',', '[', ']', '/', '?', 'é', '\0'] {
                    let mut v = chars.clone();
                    v[at] = c;
                    let _ = read(&v.iter().collect::<String>(), &vars);
                }
            }
        }
    }

    #[test]
    fn the_strings_own_parameters_win() {
        let c = read(
            "host=db port=5433 user=u password=p dbname=d application_name=a connect_timeout=9",
            &[
                ("PGHOST", "elsewhere"),
                ("PGHOSTADDR", "10.0.0.9"),
                ("PGPORT", "1"),
                ("PGUSER", "x"),
                ("PGPASSWORD", "y"),
                ("PGDATABASE", "z"),
                ("PGAPPNAME", "w"),
                ("PGCONNECT_TIMEOUT", "3"),
            ],
        )
        .unwrap();
        assert_eq!(format!("{:?}", c.get_hosts()), r#"[Tcp("db")]"#);
        assert_eq!(c.get_hostaddrs().len(), 1, "an address for the named host");
        assert_eq!(c.get_ports(), [5433]);
        assert_eq!(
            (c.get_user(), c.get_password(), c.get_dbname()),
            (Some("u"), Some(&b"p"[..]), Some("d"))
        );
        assert_eq!(c.get_application_name(), Some("a"));
        assert_eq!(c.get_connect_timeout().map(|d| d.as_secs()), Some(9));
        let none = read("host=db user=u", &[]).unwrap();
        assert_eq!((none.get_password(), none.get_dbname()), (None, None));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused() {
        for (vars, says) in [
            (&[("PGPORT", "54x")][..], "PGPORT=\"54x\""),
            (&[("PGHOSTADDR", "db")][..], "not an IP address"),
            (&[("PGCONNECT_TIMEOUT", "soon")][..], "PGCONNECT_TIMEOUT"),
        ] {
            let e = read("host=db user=u", vars).unwrap_err();
            assert!(e.contains(says), "{vars:?}: {e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_host_is_a_local_servers_socket_and_a_missing_user_the_login() {
        use super::defaults;
        let scratch = std::env::temp_dir().join(format!("acttrace-sockets-{}", std::process::id()));
        let (none, has) = (scratch.join("none"), scratch.join("has"));
        for dir in [&none, &has] {
            std::fs::create_dir_all(dir).unwrap();
        }
        // A real socket, as a server leaves it, for port 6432 only.
        let _listener = std::os::unix::net::UnixListener::bind(has.join(".s.PGSQL.6432")).unwrap();
        let dirs = [none.to_str().unwrap(), has.to_str().unwrap()];
        let with = |conninfo: &str, vars: &[(&str, &str)], login: Option<&str>| {
            let mut c = read(conninfo, vars)?;
            defaults(&mut c, &dirs, || login.map(str::to_owned)).map(|()| c)
        };

        let c = with("dbname=audit port=6432", &[], Some("ops")).unwrap();
        assert_eq!(format!("{:?}", c.get_hosts()), format!("[Unix({has:?})]"));
        assert_eq!(c.get_user(), Some("ops"));
        let c = with("postgres:///audit", &[("PGPORT", "6432")], None).unwrap();
        assert_eq!(c.get_hosts().len(), 1, "PGPORT picks the socket");
        assert_eq!(
            c.get_user(),
            None,
            "no login name: left to the driver to refuse"
        );

        // What the string or the environment gives is not overridden.
        let c = with("host=db user=u port=6432", &[], Some("ops")).unwrap();
        assert_eq!(format!("{:?}", c.get_hosts()), r#"[Tcp("db")]"#);
        assert_eq!(c.get_user(), Some("u"));
        let c = with(
            "port=6432",
            &[("PGHOST", "db2"), ("PGUSER", "v")],
            Some("ops"),
        )
        .unwrap();
        assert_eq!(format!("{:?}", c.get_hosts()), r#"[Tcp("db2")]"#);
        assert_eq!(c.get_user(), Some("v"));
        let c = with("hostaddr=10.0.0.7 port=6432", &[], Some("ops")).unwrap();
        assert!(c.get_hosts().is_empty(), "an address is a host enough");

        // No socket for the port: refused, saying where it looked.
        let e = with("dbname=audit", &[], Some("ops")).unwrap_err();
        let looked = format!("{}/.s.PGSQL.5432 or {}/.s.PGSQL.5432", dirs[0], dirs[1]);
        assert!(e.contains("no host is given") && e.contains(&looked), "{e}");
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
