"""How fast the real stack is against this machine's own gRPC ceiling (`make bench`,
`python -m bench --help`, bench/README.md): throughput as a ratio to an echo service measured
in the same run, latency percentiles and errors of calls through the gateway from client
processes of their own, webhook intake with exact final counts, Watch fan-out, and each
process's memory and CPU time. Measurement only: nothing here asserts a number."""
