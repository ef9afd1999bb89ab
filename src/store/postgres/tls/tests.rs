//! The TLS parameters of connection strings, and libpq's environment for them, read without
//! the process's environment.

use super::{Identity, Mode, Roots, Target};

/// Read with no environment: the process's must not change what these tests see.
fn parse(s: &str) -> Result<Target, String> {
    Target::parse(s, &|_| None)
}

fn parse_in(s: &str, vars: &[(&str, &str)]) -> Result<Target, String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Target::parse(s, &|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

#[test]
fn the_environment_fills_in_what_the_string_leaves_out() {
    let vars = [
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", "/env/ca.pem"),
        ("PGSSLCERT", "/env/me.pem"),
        ("PGSSLKEY", "/env/me.key"),
    ];
    if !cfg!(feature = "postgres-tls") {
        let e = parse_in("postgres://db/a", &vars).unwrap_err();
        assert!(
            e.contains("postgres-tls") && e.contains("from PGSSLMODE"),
            "{e}"
        );
        return;
    }
    let t = parse_in("postgres://db/a", &vars).unwrap();
    assert_eq!(t.conninfo, "postgres://db/a?sslmode=require");
    assert_eq!(t.mode, Mode::VerifyCa);
    assert_eq!(t.roots, Roots::File("/env/ca.pem".into()));
    let identity = Identity {
        cert: "/env/me.pem".into(),
        key: "/env/me.key".into(),
    };
    assert_eq!(t.identity, Some(identity));
    // The string's own parameters win.
    let t = parse_in("host=db sslmode=disable", &vars).unwrap();
    assert_eq!(
        (t.conninfo.as_str(), t.mode),
        ("host=db sslmode=disable", Mode::Plain)
    );
    assert_eq!(
        t.identity, None,
        "the environment's files are defaults for TLS only"
    );
    let t = parse_in(
        "postgres://db/a?sslmode=verify-full&sslrootcert=system",
        &vars,
    )
    .unwrap();
    assert_eq!((t.mode, t.roots), (Mode::VerifyFull, Roots::System));
    // What would be refused in the string is refused from the environment, saying so.
    let e = parse_in("host=db", &[("PGSSLMODE", "require")]).unwrap_err();
    assert!(
        e.contains("without checking") && e.contains("sslmode from PGSSLMODE"),
        "{e}"
    );
    let e = parse_in("host=db", &[("PGSSLCERT", "/me.pem")]).unwrap_err();
    assert!(e.contains("does not ask for TLS"), "{e}");
    // Revocation lists, from the string or the environment; only for TLS.
    let t = parse_in("postgres://db/a?sslmode=verify-full&sslcrl=%2Fca.crl", &[]).unwrap();
    assert_eq!(t.crl, Some("/ca.crl".into()));
    assert_eq!(t.conninfo, "postgres://db/a?sslmode=require");
    let t = parse_in(
        "host=db sslmode=verify-ca sslrootcert=/ca.pem",
        &[("PGSSLCRL", "/env.crl")],
    )
    .unwrap();
    assert_eq!(t.crl, Some("/env.crl".into()));
    let t = parse_in("host=db sslmode=disable", &[("PGSSLCRL", "/env.crl")]).unwrap();
    assert_eq!(t.crl, None);
    let e = parse_in("host=db sslcrl=/ca.crl", &[]).unwrap_err();
    assert!(e.contains("sslcrl is given but"), "{e}");
    let t = parse_in("host=db sslmode=verify-full", &[("PGSSLCRLDIR", "/crls")]).unwrap();
    assert_eq!((t.crl, t.crl_dir), (None, Some("/crls".into())));
}

#[test]
fn libpqs_default_files_are_used_when_they_exist() {
    if !cfg!(feature = "postgres-tls") {
        return;
    }
    let home = std::env::temp_dir().join(format!("acttrace-pg-home-{}", std::process::id()));
    let dir = home.join(".postgresql");
    std::fs::create_dir_all(&dir).unwrap();
    let home_s = home.display().to_string();
    let at = |file: &str| dir.join(file);
    let plain = parse_in("host=db", &[("HOME", &home_s)]).unwrap();
    assert_eq!((plain.mode, plain.identity), (Mode::Plain, None));
    // None of the files: the system's roots, no certificate.
    let t = parse_in("host=db sslmode=verify-full", &[("HOME", &home_s)]).unwrap();
    assert_eq!((t.roots, t.identity), (Roots::System, None));
    let e = parse_in("host=db sslmode=require", &[("HOME", &home_s)]).unwrap_err();
    assert!(e.contains("without checking"), "{e}");
    // root.crt makes `require` check the chain, as in libpq.
    std::fs::write(at("root.crt"), "").unwrap();
    let t = parse_in("host=db sslmode=require", &[("HOME", &home_s)]).unwrap();
    assert_eq!(
        (t.mode, t.roots),
        (Mode::VerifyCa, Roots::File(at("root.crt")))
    );
    // A certificate needs its key; the key alone is not used.
    std::fs::write(at("postgresql.key"), "").unwrap();
    let t = parse_in("host=db sslmode=verify-full", &[("HOME", &home_s)]).unwrap();
    assert_eq!(t.identity, None);
    let mine = parse_in(
        "host=db sslmode=verify-full sslcert=/me.pem",
        &[("HOME", &home_s)],
    )
    .unwrap();
    assert_eq!(mine.identity.map(|i| i.key), Some(at("postgresql.key")));
    std::fs::write(at("postgresql.crt"), "").unwrap();
    let t = parse_in("host=db sslmode=verify-full", &[("HOME", &home_s)]).unwrap();
    let identity = Identity {
        cert: at("postgresql.crt"),
        key: at("postgresql.key"),
    };
    assert_eq!(t.identity, Some(identity));
    std::fs::remove_file(at("postgresql.key")).unwrap();
    let e = parse_in("host=db sslmode=verify-full", &[("HOME", &home_s)]).unwrap_err();
    assert!(
        e.contains("without sslkey") && e.contains("by default"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn plain_connection_strings_pass_unchanged() {
    let url = "postgres://u:p@db:5432/audit?application_name=x";
    let t = parse(url).unwrap();
    assert_eq!((t.conninfo.as_str(), t.mode), (url, Mode::Plain));
    let t = parse("postgres://db/audit?sslmode=prefer").unwrap();
    assert_eq!(t.conninfo, "postgres://db/audit");
    let t = parse("postgres://db/audit?sslmode=disable").unwrap();
    assert_eq!(t.conninfo, "postgres://db/audit?sslmode=disable");
    let kv = "host=db password='a b\\' c' dbname=audit";
    assert_eq!(parse(kv).unwrap().conninfo, kv);
}

#[test]
fn tls_modes_are_read_and_handed_to_the_driver_as_require() {
    if !cfg!(feature = "postgres-tls") {
        let e = parse("postgres://db/a?sslmode=verify-full").unwrap_err();
        assert!(e.contains("postgres-tls"), "{e}");
        return;
    }
    let t = parse("postgres://db/a?sslmode=verify-full&application_name=x").unwrap();
    assert_eq!(
        t.conninfo,
        "postgres://db/a?application_name=x&sslmode=require"
    );
    assert_eq!((t.mode, t.roots), (Mode::VerifyFull, Roots::System));
    let t = parse("postgresql://db/a?sslrootcert=%2Fetc%2Fca%20x.pem&sslmode=verify-ca").unwrap();
    assert_eq!(t.conninfo, "postgresql://db/a?sslmode=require");
    assert_eq!(t.mode, Mode::VerifyCa);
    assert_eq!(t.roots, Roots::File("/etc/ca x.pem".into()));
    let t = parse("postgres://db/a?sslmode=require&sslrootcert=ca.pem").unwrap();
    assert_eq!(
        t.mode,
        Mode::VerifyCa,
        "require with a root file is verify-ca, as in libpq"
    );
    let t = parse("host=db  password='x y' sslmode=verify-full sslrootcert=system").unwrap();
    assert_eq!(t.conninfo, "host=db password='x y' sslmode=require");
    assert_eq!((t.mode, t.roots), (Mode::VerifyFull, Roots::System));
    assert_eq!(t.identity, None);
    let t =
        parse("postgres://db/a?sslcert=me.pem&sslmode=verify-full&sslkey=%2Fk%20y.pem").unwrap();
    assert_eq!(t.conninfo, "postgres://db/a?sslmode=require");
    let identity = Identity {
        cert: "me.pem".into(),
        key: "/k y.pem".into(),
    };
    assert_eq!(t.identity.as_ref(), Some(&identity));
    let t = parse("sslkey=/k\\ y.pem host=db sslcert=me.pem sslmode=verify-ca").unwrap();
    assert_eq!(
        (t.conninfo.as_str(), t.mode),
        ("host=db sslmode=require", Mode::VerifyCa)
    );
    assert_eq!(t.identity.map(|i| i.key), Some("/k y.pem".into()));
    let t = parse(r"host=db sslmode='verify-full' sslrootcert='/c\'a x.pem'").unwrap();
    assert_eq!(
        (t.mode, t.roots),
        (Mode::VerifyFull, Roots::File("/c'a x.pem".into()))
    );
}

/// Every cut and every changed character of some connection strings reads or is refused,
/// never panics.
#[test]
fn damaged_connection_strings_never_panic() {
    for conninfo in [
        "postgres://u:p%40x@db:5432/a?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        "host=db password='a b\\' c' sslmode=verify-ca sslrootcert=/ca.pem",
        "postgres://db/a?sslmode=verify-ca&sslcert=%2Fc.pem&sslkey=k.pem",
    ] {
        let chars: Vec<char> = conninfo.chars().collect();
        for cut in 0..=chars.len() {
            let _ = parse(&chars[..cut].iter().collect::<String>());
        }
        for at in 0..chars.len() {
            for c in ['%', '\'', '\\', ' ', '=', '&', '?', 'é', '\0'] {
                let mut v = chars.clone();
                v[at] = c;
                let _ = parse(&v.iter().collect::<String>());
            }
        }
    }
}

#[test]
fn what_would_be_silently_insecure_or_unclear_is_refused() {
    for (conninfo, says) in [
        ("postgres://db/a?sslmode=require", "without checking"),
        ("postgres://db/a?sslrootcert=ca.pem", "does not ask for TLS"),
        ("postgres://db/a?sslmode=allow", "not one of"),
        ("postgres://db/a?sslmode=verify%2", "malformed"),
        (
            "host=db sslmode='verify-full sslrootcert=/ca.pem",
            "unclosed quote",
        ),
        (
            "postgres://db/a?sslcert=c.pem&sslkey=k.pem",
            "sslcert is given but",
        ),
        (
            "postgres://db/a?sslmode=disable&sslkey=k.pem",
            "sslkey is given but",
        ),
        (
            "postgres://db/a?sslmode=verify-full&sslcert=c.pem",
            "without sslkey",
        ),
        (
            "host=db sslmode=verify-full sslkey=k.pem",
            "without sslcert",
        ),
        (
            "host=db sslmode=verify-full sslcert='c\\'.pem' sslkey=k.pem'",
            "unclosed",
        ),
    ] {
        let e = parse(conninfo).unwrap_err();
        assert!(e.contains(says), "{conninfo}: {e}");
    }
}

#[test]
fn tls_versions_are_narrowed_as_asked_and_an_empty_range_is_refused() {
    if !cfg!(feature = "postgres-tls") {
        return;
    }
    let versions =
        |extra: &str| parse(&format!("host=db sslmode=verify-full {extra}")).map(|t| t.versions);
    assert_eq!(versions("").unwrap(), (2, 3));
    assert_eq!(versions("ssl_min_protocol_version=TLSv1").unwrap(), (2, 3));
    assert_eq!(
        versions("ssl_min_protocol_version=TLSv1.3").unwrap(),
        (3, 3)
    );
    assert_eq!(
        versions("ssl_max_protocol_version=TLSv1.2").unwrap(),
        (2, 2)
    );
    let t = parse_in(
        "postgres://db/a?sslmode=verify-full",
        &[("PGSSLMAXPROTOCOLVERSION", "TLSv1.2")],
    )
    .unwrap();
    assert_eq!(
        (t.versions, t.conninfo.as_str()),
        ((2, 2), "postgres://db/a?sslmode=require")
    );
    for (extra, says) in [
        ("ssl_max_protocol_version=TLSv1.1", "no TLS version is left"),
        (
            "ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2",
            "no TLS version is left",
        ),
        ("ssl_min_protocol_version=SSLv3", "is not one of"),
    ] {
        let e = versions(extra).unwrap_err();
        assert!(e.contains(says), "{extra}: {e}");
    }
    let e = parse("host=db ssl_min_protocol_version=TLSv1.3").unwrap_err();
    assert!(e.contains("does not ask for TLS"), "{e}");
}
