"""The offline simulation of every stack: results, fake AWS, the recording monitor, the runner."""
