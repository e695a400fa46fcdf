//! Certificates reload when their files change: new handshakes see the new certificate, open
//! connections keep working, and a broken file keeps the last good certificate serving. Other
//! certificate files named in `regent.toml` are served without a restart too.

use std::path::Path;
use std::time::{Duration, Instant};

use regent::config::FrontConfig;

use super::client::{self, HTTP11};
use super::pki::{DEFAULT_NAMES, TestCerts};
use super::server::{FrontServer, ListenerSpec};
use crate::env::TestEnv;
use crate::served::{ConfigText, Served};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_certificate_files_serve_new_handshakes() {
    let certs = TestCerts::new();
    let env = TestEnv::new("https://127.0.0.1:1/token");
    let server = FrontServer::start(
        &env,
        vec![ListenerSpec::new(Some(certs.tls.clone()), None)],
        FrontConfig::default(),
    );
    // A fresh client config per connection: a shared one would resume the TLS session, and a
    // resumed session reports the certificate of the session it resumed.
    let config = || client::config(&certs.pki.ca_pem, HTTP11);
    let mut open = client::connect(server.addr(), "127.0.0.1", config()).await;
    assert!(open.peer == certs.default.der());

    let renewed = certs.pki.leaf(DEFAULT_NAMES);
    renewed.write(certs.dir.path(), "server");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = client::connect(server.addr(), "127.0.0.1", config()).await;
        if fresh.peer == renewed.der() {
            break;
        }
        assert!(Instant::now() < deadline, "new handshakes still get the old certificate after 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open.get("/healthz", &[]).await.0, 200, "the connection opened before the reload still works");

    // A broken certificate file is logged and ignored: the renewed one keeps serving.
    std::fs::write(&certs.tls.certificate, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = client::connect(server.addr(), "127.0.0.1", config()).await;
    assert!(after.peer == renewed.der(), "a broken file replaced the last good certificate");
}

#[test]
fn other_certificate_files_in_regent_toml_serve_new_handshakes_without_a_restart() {
    let certs = TestCerts::new();
    let tls = |(certificate, key): (&Path, &Path)| {
        format!("[listen.tls]\ncertificate = \"{}\"\nkey = \"{}\"\n", certificate.display(), key.display())
    };
    let config = ConfigText { listener: tls((&certs.tls.certificate, &certs.tls.key)), ..ConfigText::new() };
    let served = Served::start(config.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handshake = || {
        let config = client::config(&certs.pki.ca_pem, HTTP11);
        runtime.block_on(client::connect(served.config.listen, "127.0.0.1", config)).peer
    };
    assert!(handshake() == certs.default.der());

    let renewed = certs.pki.leaf(DEFAULT_NAMES);
    let (certificate, key) = renewed.write(certs.dir.path(), "renewed");
    served.rewrite(&ConfigText { listener: tls((&certificate, &key)), ..config });
    served.server.wait_for_lines("applied the new configuration", 1);
    assert!(handshake() == renewed.der(), "new handshakes get the certificate regent.toml names now");
}
