"""What the tests run airwarn with: a server in its own process (`serverkit`), a live one in
this process for browsers (`livekit`), a cluster on NATS (`buskit`), and real host names over
TLS pointed at a local server (`tlstunnel`)."""
