"""Running agents: training runs on disk, evaluation, plots, throughput, atomic files."""
