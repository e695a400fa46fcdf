//! `regent.toml` changed under the real `regent serve`: an added backend's user logs in without
//! a restart (through the file watcher, and at once on SIGHUP while the watcher is held back), a
//! broken edit is logged with its `file:line:col` and changes nothing until it is fixed, token
//! settings apply to the next token, and a changed listen address is a WARN while the old
//! address keeps serving.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use regent::authn::htpasswd::set_password;
use regent::clock::{Clock, SystemClock};
use regent::secret::Secret;

use crate::env::ISSUER;
use crate::fixtures::{free_port, http_get};
use crate::served::{ConfigText, Served, lifetime, token_claims};

/// An `[[authn]]` htpasswd backend `name` reading `file`.
fn htpasswd_backend(name: &str, file: &str) -> String {
    format!("[[authn]]\nname = \"{name}\"\nkind = \"htpasswd\"\nfile = \"{file}\"\n\n")
}

fn add_user(file: &Path, user: &str, password: &str) {
    set_password(file, user, &Secret::new(password), 4).expect("set_password");
}

/// Touches a file every 50 ms until dropped: the watcher never sees it settle.
struct Toucher {
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Toucher {
    fn start(path: &Path) -> Self {
        let (running, path) = (Arc::new(AtomicBool::new(true)), path.to_owned());
        let flag = Arc::clone(&running);
        let thread = std::thread::spawn(move || {
            while flag.load(Ordering::Relaxed) {
                if let Ok(file) = std::fs::File::options().append(true).open(&path) {
                    let _ = file.set_modified(SystemClock.now().into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { running, thread: Some(thread) }
    }
}

impl Drop for Toucher {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn an_added_htpasswd_backend_logs_its_user_in_without_a_restart_and_at_once_on_sighup() {
    let served = Served::start(ConfigText::new());
    add_user(&served.dir().join("extra-htpasswd"), "carol", "carol-pw");
    assert_eq!(served.login("carol", "carol-pw").status, 401, "no backend knows carol yet");
    assert_eq!(served.login("alice", "alice-pw").status, 200);

    // The file watcher: carol logs in once the edit has settled.
    let extra = htpasswd_backend("extra", "extra-htpasswd");
    served.rewrite(&ConfigText { tables: extra.clone(), ..served.config.clone() });
    let took = served.wait_for_login("carol", "carol-pw", 200);
    eprintln!("an added [[authn]] backend was live {took:?} after the edit");
    let log = served.server.wait_for_lines("applied the new configuration", 1);
    let applied = log.lines().find(|line| line.contains("applied the new configuration")).unwrap();
    assert!(applied.contains(" INFO ") && applied.contains("changed=[[authn]]"), "{applied}");
    assert_eq!(served.login("alice", "alice-pw").status, 200, "the first backend still answers");

    // SIGHUP, while a file that never settles holds the watcher back: only the signal applies it.
    add_user(&served.dir().join("more-htpasswd"), "dave", "dave-pw");
    let toucher = Toucher::start(served.env.config_path());
    let both = extra + &htpasswd_backend("more", "more-htpasswd");
    served.rewrite(&ConfigText { tables: both, ..served.config.clone() });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(served.login("dave", "dave-pw").status, 401, "the watcher waits for the file to settle");
    served.server.signal(Signal::SIGHUP);
    served.server.wait_for_lines("applied the new configuration", 2);
    assert_eq!(served.login("dave", "dave-pw").status, 200, "{}", served.server.log());
    assert_eq!(served.login("carol", "carol-pw").status, 200);
    drop(toucher);
    assert!(served.server.log().contains("SIGHUP: reloading"), "{}", served.server.log());
}

#[test]
fn a_broken_edit_keeps_the_last_good_config_and_fixing_it_applies_the_new_token_settings() {
    let served = Served::start(ConfigText::new());
    let before = token_claims(&served.login("alice", "alice-pw"));
    assert_eq!((before["iss"].as_str(), lifetime(&before)), (Some(ISSUER), 300));

    // New token settings, and a misspelt key: nothing of it applies.
    let token = "issuer = \"regent-next\"\nttl = \"10m\"\n".to_owned();
    let broken =
        ConfigText { token, tables: "[limits]\nidle_timout = \"5s\"\n".into(), ..served.config.clone() };
    let line = broken.render().lines().position(|line| line.starts_with("idle_timout")).unwrap() + 1;
    served.rewrite(&broken);
    let log = served.server.wait_for_lines("reload failed; keeping the last good version", 1);
    let error = log.lines().find(|line| line.contains("reload failed")).unwrap();
    let location = format!("{}:{line}:1: unknown field `idle_timout`", served.env.config_path().display());
    assert!(error.contains(" ERROR ") && error.contains(&location), "{error}\nexpected {location}");
    let during = token_claims(&served.login("alice", "alice-pw"));
    assert_eq!((during["iss"].as_str(), lifetime(&during)), (Some(ISSUER), 300), "the last good one serves");

    // Fixed: the new issuer and lifetime are in the next token.
    served.rewrite(&ConfigText { tables: "[limits]\nidle_timeout = \"5s\"\n".into(), ..broken });
    served.server.wait_for_lines("applied the new configuration", 1);
    let after = token_claims(&served.login("alice", "alice-pw"));
    assert_eq!((after["iss"].as_str(), lifetime(&after)), (Some("regent-next"), 600));

    let metrics = http_get(&format!("http://{}/metrics", served.config.listen), &[]).body;
    for result in ["failed", "ok"] {
        let sample = format!("regent_reloads_total{{what=\"config\",result=\"{result}\"}} 1\n");
        assert!(metrics.contains(&sample), "no {sample:?} in\n{metrics}");
    }
    assert!(metrics.contains("regent_reload_last_success_timestamp_seconds{what=\"config\"}"), "{metrics}");
}

#[test]
fn a_changed_listen_address_is_a_warning_and_the_old_address_keeps_serving() {
    let served = Served::start(ConfigText::new());
    let moved = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let token = "issuer = \"regent-test\"\nttl = \"10m\"\n".to_owned();
    served.rewrite(&ConfigText { listen: moved, token, ..served.config.clone() });
    let log = served.server.wait_for_lines("applied the new configuration", 1);
    let warning = log.lines().find(|line| line.contains("[[listen]] address changed")).expect("a warning");
    let running = served.config.listen;
    let expected =
        format!("[[listen]] address changed from {running} to {moved}: restart regent to apply it");
    assert!(warning.contains(" WARN ") && warning.contains(&expected), "{warning}");

    let claims = token_claims(&served.login("alice", "alice-pw"));
    assert_eq!(lifetime(&claims), 600, "the rest of the change applied; the old address serves it");
    assert!(TcpStream::connect(moved).is_err(), "nothing listens on the new address before a restart");
}
