"""Models of the detection app."""
