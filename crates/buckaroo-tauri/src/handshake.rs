//! The sidecar's stdout handshake: exactly one `BUCKAROO_PORT=<n>` line.

pub const PREFIX: &str = "BUCKAROO_PORT=";

#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    Port(u16),
    /// Anything else on stdout before the port: the contract says there is nothing.
    Unexpected(String),
}

/// Classify one stdout line (with or without its line ending).
pub fn parse_line(line: &str) -> Handshake {
    let trimmed = line.trim_end_matches(['\r', '\n']).trim();
    match trimmed.strip_prefix(PREFIX).map(str::parse::<u16>) {
        Some(Ok(port)) if port != 0 => Handshake::Port(port),
        _ => Handshake::Unexpected(truncate(trimmed, 200)),
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_handshake() {
        assert_eq!(parse_line("BUCKAROO_PORT=43121\n"), Handshake::Port(43121));
        assert_eq!(parse_line("BUCKAROO_PORT=1\r\n"), Handshake::Port(1));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "hello",
            "BUCKAROO_PORT=",
            "BUCKAROO_PORT=0",
            "BUCKAROO_PORT=65536",
            "BUCKAROO_PORT=-1",
            "BUCKAROO_PORT=12x",
            "buckaroo_port=1",
        ] {
            assert!(matches!(parse_line(bad), Handshake::Unexpected(_)), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "\\PC{0,300}", port in 1u16..) {
            let _ = parse_line(&s);
            prop_assert_eq!(parse_line(&format!("{PREFIX}{port}\n")), Handshake::Port(port));
        }

        #[test]
        fn only_exact_ports_pass(s in "[0-9a-zA-Z=_ -]{0,40}") {
            if let Handshake::Port(p) = parse_line(&s) {
                prop_assert_eq!(s.trim(), format!("{PREFIX}{p}"));
            }
        }
    }
}
