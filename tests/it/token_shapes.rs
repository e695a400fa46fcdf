//! Every `/token` request shape of `shared/notes/token-protocol.md`, sent with the real curl to
//! the real `regent serve` binary, each answer asserted: what skopeo/podman, the docker CLI and
//! daemon, containerd (POST first, GET fallback), BuildKit, Helm/oras and anonymous clients
//! send; repeated, space-joined and duplicate scopes; `account`; `client_id`; `offline_token`
//! and `access_type=offline`; the refresh grant on POST and as Basic `":" + token` on GET; the
//! error answers.

use regent::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::env::SERVICE;
use crate::fixtures::{HttpResponse, claims, curl};
use crate::served::{ConfigText, Served};

/// `regent serve` on a fresh data directory with the test users and `init`'s policies.
fn serve() -> Served {
    Served::start(ConfigText::new())
}

/// `http://ADDR/token` of the served listener.
fn realm(served: &Served) -> String {
    format!("http://{}/token", served.config.listen)
}

/// `curl [-u CREDS] REALM?QUERY`.
fn get(served: &Served, query: &str, creds: Option<&str>) -> HttpResponse {
    let url = format!("{}?{query}", realm(served));
    match creds {
        Some(creds) => curl(&["--user", creds, &url]),
        None => curl(&[&url]),
    }
}

/// `curl --data-raw FORM REALM` (curl sends `application/x-www-form-urlencoded`).
fn post(served: &Served, form: &str) -> HttpResponse {
    curl(&["--data-raw", form, &realm(served)])
}

/// A GET answer: 200, `token` = `access_token`, `expires_in` 300, `issued_at` an RFC 3339
/// string of now; returns the token's `access`.
fn get_answer(answer: &HttpResponse) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["token"], json["access_token"], "{json}");
    common_fields(&json);
    claims(json["token"].as_str().expect("token"))["access"].clone()
}

/// A POST answer: 200, `access_token` (no `token`), `expires_in`, `issued_at`, `scope`;
/// returns the token's `access`.
fn post_answer(answer: &HttpResponse) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    assert!(json.get("token").is_none() && json["scope"].is_string(), "{json}");
    common_fields(&json);
    claims(json["access_token"].as_str().expect("access_token"))["access"].clone()
}

fn common_fields(json: &Value) {
    assert_eq!(json["expires_in"], 300, "{json}");
    let issued = json["issued_at"].as_str().unwrap_or_else(|| panic!("issued_at is a string: {json}"));
    let issued = OffsetDateTime::parse(issued, &Rfc3339).expect("issued_at is RFC 3339");
    assert!((SystemClock.now() - issued).whole_seconds().abs() < 60, "{issued}");
}

/// The `access` entry for a repository.
fn repo(name: &str, actions: &[&str]) -> Value {
    json!({"type": "repository", "name": name, "actions": actions})
}

/// The refresh token of an answer that must carry one.
fn refresh_token_of(answer: &HttpResponse) -> String {
    answer.json()["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh_token: {}", answer.body))
        .to_owned()
}

#[test]
fn get_shapes_of_skopeo_podman_docker_containerd_and_anonymous_clients() {
    let served = serve();
    let alice = Some("alice:alice-pw");

    // skopeo/podman login: account, service, no scope: a token with empty access.
    let login = get(&served, &format!("account=alice&service={SERVICE}"), alice);
    assert_eq!(get_answer(&login), json!([]));
    assert!(login.json().get("refresh_token").is_none(), "{}", login.body);
    // ... their pull (one scope) and push (a second repository's pull for a cross-repo mount).
    let pull = get(&served, &format!("scope=repository:alice/app:pull&service={SERVICE}"), alice);
    assert_eq!(get_answer(&pull), json!([repo("alice/app", &["pull"])]));
    let push =
        format!("scope=repository:alice/app:pull,push&scope=repository:bob/base:pull&service={SERVICE}");
    let push = get(&served, &push, alice);
    assert_eq!(get_answer(&push), json!([repo("alice/app", &["pull", "push"]), repo("bob/base", &["pull"])]));

    // docker login: client_id=docker, offline_token=true: a refresh token too.
    let docker =
        get(&served, &format!("account=alice&client_id=docker&offline_token=true&service={SERVICE}"), alice);
    assert_eq!(get_answer(&docker), json!([]));
    let refresh = refresh_token_of(&docker);
    assert_eq!(refresh.split('.').count(), 3);
    // The daemon with a stored password: GET + Basic with scope, no account.
    let daemon = get(&served, &format!("scope=repository:alice/app:pull,push&service={SERVICE}"), alice);
    assert_eq!(get_answer(&daemon), json!([repo("alice/app", &["pull", "push"])]));

    // containerd's GET fallback: no account; with a password, and with Basic ":" + refresh token.
    let fallback = get(&served, &format!("scope=repository:alice/app:pull&service={SERVICE}"), alice);
    assert_eq!(get_answer(&fallback), json!([repo("alice/app", &["pull"])]));
    let colon = format!(":{refresh}");
    let fallback = get(&served, &format!("scope=repository:alice/app:pull&service={SERVICE}"), Some(&colon));
    assert_eq!(get_answer(&fallback), json!([repo("alice/app", &["pull"])]));
    assert!(fallback.json().get("refresh_token").is_none(), "the same refresh token stays in use");

    // Anonymous: no account, no Authorization; a push request is a partial grant; no refresh token.
    let anonymous = get(&served, &format!("scope=repository:public/tool:pull,push&service={SERVICE}"), None);
    assert_eq!(get_answer(&anonymous), json!([repo("public/tool", &["pull"])]));
    let anonymous =
        get(&served, &format!("offline_token=true&scope=repository:alice/app:pull&service={SERVICE}"), None);
    assert_eq!(get_answer(&anonymous), json!([]), "anonymous gets nothing outside public/");
    assert!(anonymous.json().get("refresh_token").is_none(), "{}", anonymous.body);

    // Scope grammar: duplicates merged per resource (Helm), space-joined on GET, a deprecated
    // resource class ignored, a name with host:port split on the first and last colon.
    let merged =
        "scope=repository:alice/app:pull&scope=repository:alice/app:push&scope=repository:alice/app:pull";
    let merged = get(&served, &format!("{merged}&service={SERVICE}"), alice);
    assert_eq!(get_answer(&merged), json!([repo("alice/app", &["pull", "push"])]));
    let joined = get(
        &served,
        &format!("scope=repository:alice/app:pull%20repository:public/tool:pull&service={SERVICE}"),
        alice,
    );
    assert_eq!(get_answer(&joined), json!([repo("alice/app", &["pull"]), repo("public/tool", &["pull"])]));
    let class = get(&served, &format!("scope=repository(plugin):alice/app:pull&service={SERVICE}"), alice);
    assert_eq!(get_answer(&class), json!([repo("alice/app", &["pull"])]));
    let host_port =
        get(&served, &format!("scope=repository:127.0.0.1:5000/alice/app:pull&service={SERVICE}"), alice);
    assert_eq!(get_answer(&host_port), json!([repo("127.0.0.1:5000/alice/app", &["pull"])]));

    // The catalog: admins only; `/auth/token` is the same endpoint.
    let catalog = format!("scope=registry:catalog:*&service={SERVICE}");
    let admin = get(&served, &catalog, Some("admin:admin-pw"));
    assert_eq!(get_answer(&admin), json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]));
    assert_eq!(get_answer(&get(&served, &catalog, alice)), json!([]));
    let auth_path = curl(&[
        "--user",
        "alice:alice-pw",
        &format!("http://{}/auth/token?service={SERVICE}", served.config.listen),
    ]);
    assert_eq!(get_answer(&auth_path), json!([]));
}

#[test]
fn post_shapes_of_containerd_buildkit_helm_docker_and_containers_image() {
    let served = serve();
    let pull_push = "repository:alice/app:pull,push";

    // containerd: password grant, scopes space-joined (Go encodes the space as `+`).
    let form = format!(
        "client_id=containerd-client&grant_type=password&password=alice-pw&scope={}&service={SERVICE}&username=alice",
        "repository%3Aalice%2Fapp%3Apull+repository%3Aalice%2Fapp%3Apull%2Cpush"
    );
    let containerd = curl(&[
        "--header",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "--data-raw",
        &form,
        &realm(&served),
    ]);
    assert_eq!(post_answer(&containerd), json!([repo("alice/app", &["pull", "push"])]));
    assert_eq!(containerd.json()["scope"], pull_push);
    assert!(containerd.json().get("refresh_token").is_none(), "{}", containerd.body);
    // ... with access_type=offline (containerd's FetchRefreshToken): a refresh token too.
    let offline = post(&served, &format!("{form}&access_type=offline"));
    post_answer(&offline);
    let refresh = refresh_token_of(&offline);

    // BuildKit and Helm/oras: POST first; the same repository in separate scope fields merged.
    let alice = format!("grant_type=password&username=alice&password=alice-pw&service={SERVICE}");
    let buildkit = format!("client_id=buildkit-client&{alice}&scope=repository:alice/app:pull");
    assert_eq!(post_answer(&post(&served, &buildkit)), json!([repo("alice/app", &["pull"])]));
    let helm =
        post(&served, &format!("client_id=helm&{alice}&scope=repository:alice/app:pull&scope={pull_push}"));
    assert_eq!(post_answer(&helm), json!([repo("alice/app", &["pull", "push"])]));
    assert_eq!(helm.json()["scope"], pull_push);

    // The refresh grant, no Basic header: docker (one scope field), containers/image (repeated
    // scope fields) and containerd (space-joined); the answer carries no new refresh token.
    for (client_id, scopes) in [
        ("docker", format!("scope={pull_push}")),
        ("containers/image", format!("scope={pull_push}&scope=repository:public/tool:pull")),
        ("containerd-client", format!("scope={pull_push}%20repository:public/tool:pull")),
    ] {
        let grant = format!("grant_type=refresh_token&refresh_token={refresh}&service={SERVICE}");
        let form = format!("{grant}&client_id={client_id}&{scopes}");
        let answer = post(&served, &form);
        let access = post_answer(&answer);
        assert_eq!(access[0], repo("alice/app", &["pull", "push"]), "{client_id}");
        assert_eq!(
            access.as_array().map(Vec::len),
            Some(if client_id == "docker" { 1 } else { 2 }),
            "{client_id}"
        );
        assert!(answer.json().get("refresh_token").is_none(), "{client_id}: {}", answer.body);
    }
    let unscoped =
        post(&served, &format!("grant_type=refresh_token&refresh_token={refresh}&service={SERVICE}"));
    assert_eq!(post_answer(&unscoped), json!([]));
}

/// The error answers: OAuth2 JSON on POST (never 403), registry-style JSON on GET.
#[test]
fn error_shapes_on_get_and_post() {
    let served = serve();
    let oauth_error = |answer: &HttpResponse, status: u16, error: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.json()["error"], error, "{}", answer.body);
    };
    let registry_error = |answer: &HttpResponse, status: u16, code: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.json()["errors"][0]["code"], code, "{}", answer.body);
    };
    let wrong = get(&served, &format!("account=bob&service={SERVICE}"), Some("bob:not-bobs"));
    registry_error(&wrong, 401, "UNAUTHORIZED");
    assert_eq!(wrong.header("www-authenticate"), Some("Basic realm=\"regent\""));
    registry_error(
        &get(&served, &format!("account=alice&service={SERVICE}"), Some("bob:bob-pw")),
        400,
        "INVALID_REQUEST",
    );
    registry_error(&get(&served, "service=another.registry", None), 400, "INVALID_REQUEST");
    registry_error(
        &get(&served, &format!("scope=repository::pull&service={SERVICE}"), None),
        400,
        "INVALID_REQUEST",
    );
    let bad_refresh = get(&served, &format!("service={SERVICE}"), Some(":not-a-refresh-token"));
    registry_error(&bad_refresh, 401, "UNAUTHORIZED");

    let password =
        |user: &str, pw: &str| format!("grant_type=password&username={user}&password={pw}&service={SERVICE}");
    oauth_error(&post(&served, &password("bob", "not-bobs")), 401, "invalid_grant");
    oauth_error(
        &post(&served, &format!("grant_type=refresh_token&refresh_token=eyJ.x.y&service={SERVICE}")),
        400,
        "invalid_grant",
    );
    let access_token =
        post(&served, &password("alice", "alice-pw")).json()["access_token"].as_str().unwrap().to_owned();
    let as_refresh = format!("grant_type=refresh_token&refresh_token={access_token}&service={SERVICE}");
    oauth_error(&post(&served, &as_refresh), 400, "invalid_grant");
    oauth_error(
        &post(&served, &format!("grant_type=client_credentials&service={SERVICE}")),
        400,
        "unsupported_grant_type",
    );
    oauth_error(&post(&served, &format!("service={SERVICE}")), 400, "invalid_request");
    oauth_error(
        &post(&served, &format!("grant_type=refresh_token&service={SERVICE}")),
        400,
        "invalid_request",
    );
    oauth_error(
        &post(&served, "grant_type=password&username=alice&password=alice-pw"),
        400,
        "invalid_request",
    );
    oauth_error(
        &post(&served, &format!("grant_type=password&username=alice&service={SERVICE}")),
        400,
        "invalid_request",
    );
}
