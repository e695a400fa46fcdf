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

/// What a client might send to steer the registry's `Location` URLs or its logs.
const SPOOFED: &[(&str, &str)] = &[
    ("host", "internal:5000"),
    ("x-forwarded-for", "10.0.0.1"),
    ("x-forwarded-proto", "http"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-port", "80"),
    ("forwarded", "for=10.0.0.1;host=evil.example;proto=http"),
    ("x-real-ip", "10.0.0.1"),
];

#[test]
fn an_untrusted_peers_forwarding_headers_are_replaced_by_the_connections() {
    let host = HeaderValue::from_static("registry.test:8443");
    for (tls, proto) in [(true, "https"), (false, "http")] {
        let mut headers = map(SPOOFED);
        let forwarding = Forwarding { client: Some("127.0.0.2".parse().unwrap()), tls, trusted: false };
        set_forwarded(&mut headers, Some(&host), forwarding);
        assert_eq!(values(&headers, "host"), ["registry.test:8443"]);
        assert_eq!(values(&headers, "x-forwarded-host"), ["registry.test:8443"]);
        assert_eq!(values(&headers, "x-forwarded-proto"), [proto]);
        assert_eq!(values(&headers, "x-forwarded-for"), ["127.0.0.2"]);
        let forwarded = format!("for=127.0.0.2;host=\"registry.test:8443\";proto={proto}");
        assert_eq!(values(&headers, "forwarded"), [forwarded]);
        assert!(values(&headers, "x-real-ip").is_empty() && values(&headers, "x-forwarded-port").is_empty());
    }

    let mut v6 = map(&[("forwarded", "host=evil.example")]);
    let forwarding = Forwarding { client: Some("::1".parse().unwrap()), tls: true, trusted: false };
    set_forwarded(&mut v6, Some(&HeaderValue::from_static("[::1]:8443")), forwarding);
    assert_eq!(values(&v6, "forwarded"), ["for=\"[::1]\";host=\"[::1]:8443\";proto=https"]);

    let mut bare = HeaderMap::new();
    set_forwarded(&mut bare, None, Forwarding { client: None, tls: false, trusted: false });
    assert_eq!(values(&bare, "forwarded"), ["proto=http"]);
    assert_eq!(values(&bare, "x-forwarded-proto"), ["http"]);
    assert!(!bare.contains_key("x-forwarded-for") && !bare.contains_key("x-forwarded-host"));
}

#[test]
fn a_trusted_proxy_keeps_its_headers_and_this_hop_is_appended() {
    let host = HeaderValue::from_static("registry.test:8443");
    let mut headers = map(SPOOFED);
    let forwarding = Forwarding { client: Some("127.0.0.2".parse().unwrap()), tls: true, trusted: true };
    set_forwarded(&mut headers, Some(&host), forwarding);
    assert_eq!(values(&headers, "host"), ["registry.test:8443"]);
    assert_eq!(values(&headers, "x-forwarded-host"), ["registry.test:8443"], "a TLS listener sets it");
    assert_eq!(values(&headers, "x-forwarded-proto"), ["https"], "a TLS listener sets it");
    assert_eq!(values(&headers, "x-forwarded-for"), ["10.0.0.1, 127.0.0.2"]);
    let forwarded =
        "for=10.0.0.1;host=evil.example;proto=http, for=127.0.0.2;host=\"registry.test:8443\";proto=https";
    assert_eq!(values(&headers, "forwarded"), [forwarded], "appended: the registry reads the first");
    assert_eq!(values(&headers, "x-real-ip"), ["10.0.0.1"]);
    assert_eq!(values(&headers, "x-forwarded-port"), ["80"]);
}

#[test]
fn plain_listener_keeps_a_trusted_load_balancers_proto_and_host() {
    let mut headers = map(&[("x-forwarded-proto", "https"), ("x-forwarded-host", "public.example")]);
    let host = HeaderValue::from_static("public.example");
    let forwarding = Forwarding { client: Some("10.1.2.3".parse().unwrap()), tls: false, trusted: true };
    set_forwarded(&mut headers, Some(&host), forwarding);
    assert_eq!(values(&headers, "x-forwarded-proto"), ["https"]);
    assert_eq!(values(&headers, "x-forwarded-host"), ["public.example"]);
    assert_eq!(values(&headers, "x-forwarded-for"), ["10.1.2.3"]);
    assert!(!headers.contains_key("forwarded"), "none added where the balancer sent none");
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

#[test]
fn the_forwarded_client_is_the_last_x_forwarded_for_entry() {
    let one = map(&[("x-forwarded-for", "203.0.113.5")]);
    assert_eq!(forwarded_client(&one), Some("203.0.113.5".parse().unwrap()));
    let chain = map(&[("x-forwarded-for", "10.0.0.1, 198.51.100.2"), ("x-forwarded-for", "2001:db8::7")]);
    assert_eq!(forwarded_client(&chain), Some("2001:db8::7".parse().unwrap()), "the proxy's own entry");
    assert_eq!(forwarded_client(&map(&[("x-forwarded-for", "not-an-ip")])), None);
    assert_eq!(forwarded_client(&HeaderMap::new()), None);
}
