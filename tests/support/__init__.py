"""What the tests share: small trained models and registered versions (processes, ports and throwaway
databases are in the top-level `loopback` package, which the benchmarks use too)."""
