"""Scale-out benchmarks and the two-node simulation (issue 20): the model store, nodes sharing PostgreSQL."""
