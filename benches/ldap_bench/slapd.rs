//! A compact OpenLDAP `slapd` for the benchmark: cn=config via `slapadd -n0`, slapd in the
//! foreground (`-d stats`, its log on stderr into a file) on a free 127.0.0.1 port, and
//! `ldapadd` of a service account and `users` users, all in the group `developers`.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory's suffix.
pub const BASE: &str = "dc=example,dc=org";
/// Where users live.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// The service account regent searches with.
pub const SERVICE_DN: &str = "cn=regent,dc=example,dc=org";
/// Its password.
pub const SERVICE_PASSWORD: &str = "servicepw";
const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
const ADMIN_PASSWORD: &str = "adminpw";

/// The login of user `index` and its password.
pub fn user(index: usize) -> (String, String) {
    (format!("user{index}"), format!("pw-{index}"))
}

/// A running slapd, killed and reaped on drop.
pub struct Slapd {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Slapd {
    /// Configures, starts and seeds slapd in `dir` (which must exist and outlive it).
    pub fn start(dir: &Path, users: usize) -> Self {
        let slapd_d = dir.join("slapd.d");
        let data = dir.join("data");
        std::fs::create_dir_all(&slapd_d).expect("mkdir slapd.d");
        std::fs::create_dir_all(&data).expect("mkdir data");
        let config = dir.join("config.ldif");
        std::fs::write(&config, config_ldif(&data)).expect("write config.ldif");
        let out = Command::new(program("slapadd"))
            .arg("-n0")
            .arg("-F")
            .arg(&slapd_d)
            .arg("-l")
            .arg(&config)
            .output()
            .expect("run slapadd");
        assert!(out.status.success(), "slapadd: {}", String::from_utf8_lossy(&out.stderr));
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let log = dir.join("slapd.log");
        let child = Command::new(program("slapd"))
            .args(["-d", "stats", "-h", &format!("ldap://127.0.0.1:{port}/"), "-F"])
            .arg(&slapd_d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("create slapd.log"))
            .spawn()
            .expect("start slapd");
        let mut slapd = Self { child, port, log };
        slapd.wait_ready();
        slapd.ldapadd(&entries(users), dir);
        slapd
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Connections slapd accepted so far (the `ACCEPT` lines of its stats log).
    pub fn connections(&self) -> usize {
        // The log is written as it happens; give the last lines a moment to land.
        std::thread::sleep(Duration::from_millis(200));
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().filter(|line| line.contains(" ACCEPT from ")).count()
    }

    /// Binds as users under [`PEOPLE`] so far: one per login the cache did not answer.
    pub fn user_binds(&self) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let wanted = format!(",{PEOPLE}\" method=");
        log.lines().filter(|line| line.contains(" BIND dn=\"uid=") && line.contains(&wanted)).count()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("slapd exited with {status}:\n{log}");
            }
            let probe = Command::new(program("ldapsearch"))
                .args(["-x", "-H", &self.url(), "-b", "", "-s", "base", "namingContexts"])
                .output()
                .expect("run ldapsearch");
            if probe.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "slapd does not answer on {}", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ldapadd(&self, ldif: &str, dir: &Path) {
        let file = dir.join("data.ldif");
        std::fs::write(&file, ldif).expect("write data.ldif");
        let out = Command::new(program("ldapadd"))
            .args(["-x", "-H", &self.url(), "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, "-f"])
            .arg(&file)
            .output()
            .expect("run ldapadd");
        assert!(out.status.success(), "ldapadd: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/usr/sbin/NAME` or `/usr/bin/NAME` (Debian's slapd and ldap-utils).
fn program(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name} is missing: apt-get install -y slapd ldap-utils"))
}

/// mdb with the memberof overlay (users get `memberOf: cn=developers,...`), `stats` logging.
fn config_ldif(data: &Path) -> String {
    format!(
        "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcLogLevel: stats\n\n\
         dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\n\
         olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\nolcModuleLoad: memberof\n\n\
         dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n\
         include: file:///etc/ldap/schema/core.ldif\ninclude: file:///etc/ldap/schema/cosine.ldif\n\
         include: file:///etc/ldap/schema/inetorgperson.ldif\n\n\
         dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n\
         olcDatabase: {{1}}mdb\nolcDbDirectory: {data}\nolcSuffix: {BASE}\nolcRootDN: {ADMIN_DN}\n\
         olcRootPW: {ADMIN_PASSWORD}\nolcDbMaxSize: 104857600\nolcDbIndex: objectClass eq\n\
         olcDbIndex: uid eq\nolcAccess: {{0}}to attrs=userPassword by anonymous auth by * none\n\
         olcAccess: {{1}}to * by users read by * none\n\n\
         dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config\nobjectClass: olcOverlayConfig\n\
         objectClass: olcMemberOf\nolcOverlay: {{0}}memberof\nolcMemberOfGroupOC: groupOfNames\n\
         olcMemberOfMemberAD: member\nolcMemberOfMemberOfAD: memberOf\n",
        data = data.display(),
    )
}

/// The base, the service account, `users` people and `developers` holding them all.
fn entries(users: usize) -> String {
    let mut ldif = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: example\ndc: example\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: regent\nuserPassword: {SERVICE_PASSWORD}\n"
    );
    for index in 0..users {
        let (uid, password) = user(index);
        let _ = write!(
            ldif,
            "\ndn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: Bench\n\
             userPassword: {password}\n"
        );
    }
    let _ = write!(ldif, "\ndn: cn=developers,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: developers\n");
    for index in 0..users {
        let _ = writeln!(ldif, "member: uid={},{PEOPLE}", user(index).0);
    }
    ldif
}
