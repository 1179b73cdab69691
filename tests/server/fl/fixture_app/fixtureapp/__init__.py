"""A tiny Flower app for the engine tests: two rounds of FedAvg on numpy arrays."""
