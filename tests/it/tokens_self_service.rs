//! Self-service access tokens through the real `regent serve`: off by default (404); with
//! `[tokens] self_service = true` a user creates, lists and revokes their own tokens with their
//! password or a token, a token cannot create a wider one, nobody sees or revokes another's,
//! and the errors are registry-style JSON with the right statuses.

use crate::access_tokens::TokenStack;
use crate::fixtures::{HttpResponse, basic, http_request};

/// `METHOD /PATH` as `user:password`, with a JSON `body`.
fn call(stack: &TokenStack, method: &str, path: &str, auth: (&str, &str), body: &str) -> HttpResponse {
    let url = format!("http://{}{path}", stack.config.listen);
    let headers = [("Authorization", basic(auth.0, auth.1)), ("Content-Type", "application/json".to_owned())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
    http_request(method, &url, &headers, body.as_bytes())
}

/// `POST /tokens` as `user:password` with `body`.
fn create(stack: &TokenStack, auth: (&str, &str), body: &str) -> HttpResponse {
    call(stack, "POST", "/tokens", auth, body)
}

/// The registry-style error code of an answer.
fn code(answer: &HttpResponse) -> String {
    answer.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", answer.body))
        .to_owned()
}

#[test]
fn self_service_is_off_by_default() {
    let stack = TokenStack::start();
    let answer = call(&stack, "GET", "/tokens", ("alice", "alice-pw"), "");
    assert_eq!((answer.status, code(&answer).as_str()), (404, "NOT_FOUND"), "{}", answer.body);
}

#[test]
fn users_manage_only_their_own_tokens_and_a_token_cannot_mint_a_wider_one() {
    let stack = TokenStack::start_with("[tokens]\nself_service = true\n");
    let wrong = call(&stack, "GET", "/tokens", ("alice", "wrong"), "");
    assert_eq!((wrong.status, code(&wrong).as_str()), (401, "UNAUTHORIZED"), "{}", wrong.body);

    let body = r#"{"name": "laptop", "scopes": ["repository:alice/app:pull,push"], "expires": "30d"}"#;
    let created = call(&stack, "POST", "/tokens", ("alice", "alice-pw"), body);
    assert_eq!(created.status, 201, "{}", created.body);
    let json = created.json();
    let secret = json["token"].as_str().expect("the secret").to_owned();
    let id = json["id"].as_str().expect("an id").to_owned();
    assert!(secret.starts_with("regent_pat_") && secret.contains(&id), "{secret}");
    assert!(json["expires"].as_i64().unwrap() > json["created"].as_i64().unwrap());

    // Signed in with the token: a narrower token is fine, a wider one is refused.
    let (user, password) = ("alice", secret.as_str());
    let started = std::time::Instant::now();
    let narrower = loop {
        let answer =
            create(&stack, (user, password), r#"{"name": "ci", "scopes": ["repository:alice/app:pull"]}"#);
        if answer.status != 401 || started.elapsed() > crate::served::LIVE_WITHIN {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(narrower.status, 201, "{}", narrower.body);
    let wider =
        create(&stack, (user, password), r#"{"name": "x", "scopes": ["repository:alice/other:pull"]}"#);
    assert_eq!((wider.status, code(&wider).as_str()), (403, "DENIED"), "{}", wider.body);
    let bad = call(&stack, "POST", "/tokens", ("alice", "alice-pw"), r#"{"name": "x"}"#);
    assert_eq!((bad.status, code(&bad).as_str()), (400, "INVALID_REQUEST"), "{}", bad.body);

    let listed = call(&stack, "GET", "/tokens", ("alice", "alice-pw"), "");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let tokens = listed.json()["tokens"].as_array().expect("tokens").clone();
    assert_eq!(tokens.len(), 2, "{}", listed.body);
    assert!(!listed.body.contains(&secret) && !listed.body.contains("sha256:"), "{}", listed.body);
    let bobs = call(&stack, "GET", "/tokens", ("bob", "bob-pw"), "");
    assert_eq!(bobs.json()["tokens"].as_array().map(Vec::len), Some(0), "{}", bobs.body);
    let stolen = call(&stack, "DELETE", &format!("/tokens/{id}"), ("bob", "bob-pw"), "");
    assert_eq!(stolen.status, 404, "bob cannot revoke alice's token: {}", stolen.body);

    let revoked = call(&stack, "DELETE", &format!("/tokens/{id}"), ("alice", "alice-pw"), "");
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    stack.wait_status("alice", &secret, "repository:alice/app:pull", 401);
    let log = stack.server.log();
    assert!(!log.contains(&secret), "the secret in the log:\n{log}");
}
