"""Linking accounts into operators: features, indicators, links, clusters, risk scores."""
