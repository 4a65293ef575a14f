# integration tests: see sql/ issue
