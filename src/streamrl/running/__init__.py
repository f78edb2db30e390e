"""Running agents: throughput measurement (training loops live on the agents' ``learn``)."""
