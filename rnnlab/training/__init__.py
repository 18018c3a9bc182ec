"""What trains and measures: optimisers, the training loop, sweeps, benchmarks and analysis.

See chapter 2 (training), chapter 3 (analysis) and the *Performance* page (benchmarks).
"""
