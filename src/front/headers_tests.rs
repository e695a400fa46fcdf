use super::*;

fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers
            .append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

#[test]
fn hop_by_hop_headers_and_those_connection_names_are_removed() {
    let mut headers = map(&[
        ("connection", "keep-alive, X-Secret-Hop"),
        ("keep-alive", "timeout=5"),
        ("transfer-encoding", "chunked"),
        ("te", "trailers"),
        ("upgrade", "h2c"),
        ("proxy-authorization", "Basic eA=="),
        ("expect", "100-continue"),
        ("x-secret-hop", "1"),
        ("authorization", "Bearer t"),
        ("content-length", "10"),
        ("content-type", "application/octet-stream"),
    ]);
    strip_hop_by_hop(&mut headers);
    let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    left.sort_unstable();
    assert_eq!(left, ["authorization", "content-length", "content-type"]);
}

#[test]
fn client_host_prefers_the_authority_then_the_host_header() {
    let headers = map(&[("host", "registry.test:8443")]);
    let origin_form: Uri = "/v2/".parse().unwrap();
    assert_eq!(client_host(&origin_form, &headers).unwrap(), "registry.test:8443");
    let h2: Uri = "https://127.0.0.1:9443/v2/".parse().unwrap();
    assert_eq!(client_host(&h2, &headers).unwrap(), "127.0.0.1:9443");
    assert_eq!(client_host(&origin_form, &HeaderMap::new()), None);
}

#[test]
fn host_names_lose_port_brackets_and_case() {
    let cases = [
        ("Registry.Test:443", "registry.test"),
        ("registry.test", "registry.test"),
        ("127.0.0.1:5000", "127.0.0.1"),
        ("[::1]:8443", "::1"),
        ("[::1]", "::1"),
    ];
    for (host, expected) in cases {
        assert_eq!(host_name(&HeaderValue::from_static(host)).unwrap(), expected, "{host}");
    }
}

#[test]
fn tls_listener_sets_host_proto_and_appends_the_client() {
    let mut headers = map(&[
        ("host", "internal:5000"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "spoofed"),
    ]);
    let host = HeaderValue::from_static("registry.test:8443");
    let forwarding = Forwarding { client: Some("127.0.0.2".parse().unwrap()), tls: true };
    set_forwarded(&mut headers, Some(&host), forwarding);
    assert_eq!(values(&headers, "host"), ["registry.test:8443"]);
    assert_eq!(values(&headers, "x-forwarded-host"), ["registry.test:8443"]);
    assert_eq!(values(&headers, "x-forwarded-proto"), ["https"]);
    assert_eq!(values(&headers, "x-forwarded-for"), ["10.0.0.1, 127.0.0.2"]);
}

#[test]
fn plain_listener_keeps_a_load_balancers_proto_and_host() {
    let mut headers = map(&[("x-forwarded-proto", "https"), ("x-forwarded-host", "public.example")]);
    let host = HeaderValue::from_static("public.example");
    let forwarding = Forwarding { client: Some("10.1.2.3".parse().unwrap()), tls: false };
    set_forwarded(&mut headers, Some(&host), forwarding);
    assert_eq!(values(&headers, "x-forwarded-proto"), ["https"]);
    assert_eq!(values(&headers, "x-forwarded-host"), ["public.example"]);
    assert_eq!(values(&headers, "x-forwarded-for"), ["10.1.2.3"]);

    let mut bare = HeaderMap::new();
    set_forwarded(&mut bare, Some(&host), Forwarding { client: None, tls: false });
    assert_eq!(values(&bare, "x-forwarded-proto"), ["http"]);
    assert_eq!(values(&bare, "x-forwarded-host"), ["public.example"]);
    assert!(!bare.contains_key("x-forwarded-for"));
}

#[test]
fn api_version_is_added_only_when_missing() {
    let mut missing = HeaderMap::new();
    add_api_version(&mut missing);
    assert_eq!(values(&missing, "docker-distribution-api-version"), ["registry/2.0"]);
    let mut present = map(&[("docker-distribution-api-version", "registry/2.0")]);
    add_api_version(&mut present);
    assert_eq!(values(&present, "docker-distribution-api-version"), ["registry/2.0"]);
}
