//! The token service's HTTP interface: routes, extractors and the one error mapping.
