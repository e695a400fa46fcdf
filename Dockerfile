# The regent image: `docker build -t regent:latest .` (or `docker compose build`).
#
# Stage 1 builds a release binary; stage 2 is distroless (glibc, libgcc, CA certificates, no
# shell, no package manager) and runs it as the fixed non-root uid 10001, so the data directory
# mounted at /etc/regent must be readable by that uid (`chown -R 10001:10001 regent-data`).
# No BuildKit-only syntax: the classic builder (Debian's docker-compose 1.29) builds it too.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin regent \
    && strip target/release/regent

FROM gcr.io/distroless/cc-debian12
COPY --from=builder /src/target/release/regent /usr/local/bin/regent
USER 10001:10001
WORKDIR /etc/regent
# 5443: the TLS front end (registry and /token); 5001: plain HTTP (/token, /healthz).
EXPOSE 5443 5001
ENTRYPOINT ["/usr/local/bin/regent"]
CMD ["serve", "--config", "/etc/regent/regent.toml"]
