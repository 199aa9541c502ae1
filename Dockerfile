# harness in a container: build with the Rust toolchain, run on distroless (no shell, no
# package manager; glibc and CA certificates only: reqwest uses rustls). Non-root.
#   docker build -t harness .
#   docker run --rm harness load --url https://staging.example.com/health --rps 50 -z 30s
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Built-in scenarios and fault profiles are compiled in; tests/ because Cargo.toml names it.
COPY scenarios ./scenarios
COPY mocks ./mocks
COPY tests ./tests
RUN cargo build --release --locked --bin harness \
    && strip target/release/harness

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/harness /usr/local/bin/harness
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/harness"]
CMD ["--help"]
