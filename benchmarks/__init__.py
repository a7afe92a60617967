"""preflight's benchmark suite: each module compares preflight with its peers in one run."""
