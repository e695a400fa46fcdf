//! The backend-chain scenarios: 64 simultaneous first logins of one htpasswd user (the cache
//! stampede), and LDAP users behind `init`'s htpasswd backend with warm caches (does every token
//! still pay htpasswd's dummy bcrypt?).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regent::authn::htpasswd::set_password;
use regent::config::Config;
use regent::secret::Secret;

use crate::load::{Row, burst, drive, start_server};
use crate::slapd::{self, Slapd};
use crate::{WARM_CACHE, with_htpasswd_cache};

/// Simultaneous first logins per round.
const BURST: usize = 64;
/// LDAP users the LDAP-behind-htpasswd requests rotate over.
const LDAP_USERS: usize = 16;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// `rounds` rounds of [`BURST`] simultaneous first logins, each round a new htpasswd user
/// (bcrypt cost 10) on one server with the identity cache on.
pub(crate) fn first_login_burst(config: &Config, htpasswd: &Path, rounds: usize) -> Row {
    let users: Vec<(String, String)> =
        (0..rounds).map(|round| (format!("burst{round}"), format!("burst-pw-{round}"))).collect();
    for (user, password) in &users {
        set_password(htpasswd, user, &Secret::new(password), 10).expect("passwd");
    }
    let server = start_server(config.clone(), "repository:alice/app:pull");
    let auths: Vec<String> = users.iter().map(|(user, password)| basic(user, password)).collect();
    let name = format!("first-login burst ({BURST} concurrent, cold), {rounds} rounds");
    // Anonymous requests open the pooled connections without touching the users' cache entries.
    burst(&server.0, "", &auths, BURST, &name)
}

/// LDAP users (behind `init`'s htpasswd backend in the data directory `root`) at concurrency
/// 32, both caches warm; slapd runs in `dir`. `None` when slapd is not installed.
pub(crate) fn ldap_behind_htpasswd(root: &Path, dir: &Path, total: usize) -> Option<Row> {
    if !Path::new("/usr/sbin/slapd").exists() {
        println!("LDAP-behind-htpasswd skipped: apt-get install -y slapd ldap-utils");
        return None;
    }
    let slapd = Slapd::start(dir, LDAP_USERS);
    let config = with_htpasswd_cache(config_with_ldap_last(root, &slapd), WARM_CACHE);
    let server = start_server(config, "repository:team/app:pull");
    let auths: Vec<String> = (0..LDAP_USERS)
        .map(|index| {
            let (user, password) = slapd::user(index);
            basic(&user, &password)
        })
        .collect();
    let name = format!("LDAP-behind-htpasswd, warm caches, {LDAP_USERS} users, c=32");
    Some(drive(&server.0, &auths, &auths, 32, total, &name))
}

/// `root`'s regent.toml with an LDAP `[[authn]]` for `slapd` appended (after htpasswd), saved
/// as regent-ldap.toml next to it and loaded with the real parser.
fn config_with_ldap_last(root: &Path, slapd: &Slapd) -> Config {
    std::fs::write(root.join("ldap-password"), slapd::SERVICE_PASSWORD).expect("write ldap-password");
    let text = std::fs::read_to_string(root.join("regent.toml")).expect("read regent.toml");
    let ldap = format!(
        "\n[[authn]]\nname = \"corp\"\nkind = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{bind_dn}\"\n\
         bind_password_file = \"ldap-password\"\nbase = \"{base}\"\n\
         filter = \"(&(objectClass=inetOrgPerson)(uid=${{user}}))\"\nlogin_attribute = \"uid\"\n\
         group_attribute = \"memberOf\"\npool_size = 4\ncache_ttl = \"300s\"\n",
        url = slapd.url(),
        bind_dn = slapd::SERVICE_DN,
        base = slapd::PEOPLE,
    );
    let path = root.join("regent-ldap.toml");
    std::fs::write(&path, format!("{text}{ldap}")).expect("write regent-ldap.toml");
    Config::load(&path).expect("regent.toml with LDAP last loads")
}
