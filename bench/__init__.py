"""Speed and memory of the real stack (`make bench`, `python -m bench --help`): latency
percentiles, throughput and errors of client calls through the gateway, and each service
process's resident memory and CPU time. Measurement only: nothing here asserts a number."""
