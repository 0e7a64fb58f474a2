//! The flags' defaults and what validation refuses.

use clap::Parser;

use super::*;

fn parse(extra: &[&str]) -> Result<Config, ConfigError> {
    let mut argv = vec!["runmesh-relay"];
    argv.extend_from_slice(extra);
    Config::try_from(Args::try_parse_from(argv).unwrap())
}

#[test]
fn defaults_are_loopback_and_the_spec_numbers() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:3030");
    assert_eq!((c.snapshot_interval_events, c.snapshot_retain), (100, 10));
    assert!(c.mesh_peers.is_empty());
}

#[test]
fn mesh_peers_are_split_on_commas_and_must_be_websocket_urls() {
    let c = parse(&["--mesh-peers", "ws://a:1/ws, wss://b/ws"]).unwrap();
    assert_eq!(c.mesh_peers, ["ws://a:1/ws", "wss://b/ws"]);
    let err = parse(&["--mesh-peers", "http://a/ws"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid --mesh-peers \"http://a/ws\": each peer must be a ws:// or wss:// URL"
    );
    let err = parse(&["--listen", "nowhere"]).unwrap_err();
    assert!(err.to_string().contains("--listen \"nowhere\""));
}

#[test]
fn accounting_flags_are_checked() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.read_rate_limit_per_minute.get(), 6000);
    assert_eq!(c.fork_limit_per_minute.get(), 10);
    assert_eq!(c.lamport_series, crate::metrics::LamportSeries::Highest);
    let c = parse(&["--trusted-proxies", "10.0.0.1, ::1", "--metrics-run-labels"]).unwrap();
    assert_eq!(c.trusted_proxies.len(), 2);
    assert_eq!(c.lamport_series, crate::metrics::LamportSeries::PerRun);
    let err = parse(&["--metrics-token", "short"]).unwrap_err();
    assert!(err.to_string().contains("at least 16 bytes"), "{err}");
    let err = parse(&["--fork-limit-per-minute", "0"]).unwrap_err();
    assert!(err.to_string().contains("--fork-limit-per-minute"), "{err}");
}

#[test]
fn resource_limits_have_defaults_and_refuse_what_cannot_work() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.body_read_timeout, Duration::from_secs(30));
    assert_eq!(c.max_connections, 8192);
    assert_eq!(c.max_json_body_bytes, 64 * 1024);
    assert_eq!(c.shutdown_grace, Duration::from_secs(10));
    let err = parse(&["--max-sync-body-bytes", "2048"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid --max-sync-body-bytes \"2048\": must be at least --max-json-body-bytes"
    );
    assert!(parse(&["--max-connections", "0"]).is_err());
    assert!(parse(&["--header-read-timeout-secs", "0"]).is_err());
}
